/**
 * Doc tests: the documentation's code blocks are checked the way Rust's doctests and Python's
 * doctest keep examples honest.
 *
 * - TypeScript blocks (```` ```ts ````) are type-checked against src/ (`'resnet-ts'` is
 *   src/index.ts) and then run, each as its own module with vite-node, from a temporary file in
 *   the project root (so `import ... from './src/...'` works as written too), with
 *   RESNET_TS_DOCTEST=1 so that loadDataFashionMnist uses a small subset. Blocks marked
 *   `no-run: <reason>` are only type-checked.
 * - Shell blocks, and inline code in prose starting with `npm `, must name npm scripts that
 *   exist in package.json and project files that exist.
 * Every failure names the markdown file and the line.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { virtualProgram } from '../virtual_program';
import { DocBlock, InlineCommand, extractBlocks, extractInlineCommands } from './extract';

export interface DocFailure {
  file: string;
  line: number;
  message: string;
}

export const formatFailure = (f: DocFailure): string => `${f.file}:${f.line}: ${f.message}`;

/** The documentation under test: README.md, ARCHITECTURE.md, docs/*.md, tools/<tool>/README.md. */
export function docFiles(root: string): string[] {
  const md = (dir: string) =>
    fs.existsSync(path.join(root, dir))
      ? fs
          .readdirSync(path.join(root, dir))
          .filter((f) => f.endsWith('.md'))
          .sort()
          .map((f) => path.join(dir, f))
      : [];
  const tools = fs
    .readdirSync(path.join(root, 'tools'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, 'tools', d.name, 'README.md')))
    .map((d) => path.join('tools', d.name, 'README.md'))
    .sort();
  return ['README.md', 'ARCHITECTURE.md', ...md('docs'), ...tools].filter((f) => fs.existsSync(path.join(root, f)));
}

/** A markdown file's blocks and inline commands; `file` is read relative to `root`. */
export function readDoc(root: string, file: string): { blocks: DocBlock[]; commands: InlineCommand[] } {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return { blocks: extractBlocks(file, text), commands: extractInlineCommands(file, text) };
}

// ---------------------------------------------------------------------------------------------
// Shell blocks and npm commands

const NPM = /\bnpm\s+(?:run(?:-script)?\s+([^\s;&|)`'"]+)|(start|test)\b)/g;
/** Relative paths into the project's own folders, e.g. tools/setup.sh, bench/torch_epoch.py. */
const PROJECT_PATH =
  /(?:^|[\s=('"])(?:\.\/)?((?:src|tools|bench|data-scripts|test|native|notebooks|docs)\/[\w./-]*[\w])/g;

function scriptsOf(root: string): Set<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return new Set(Object.keys(pkg.scripts ?? {}));
}

/** Problems of one line of shell text: unknown npm scripts, missing project files. */
function shellLineProblems(text: string, root: string, scripts: Set<string>): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(NPM)) {
    const name = m[1] ?? m[2];
    if (name.startsWith('-')) continue; // `npm run -- ...` or flags: nothing named
    if (!scripts.has(name)) problems.push(`\`npm ${m[1] ? 'run ' : ''}${name}\`: package.json has no script '${name}'`);
  }
  for (const m of text.matchAll(PROJECT_PATH)) {
    if (!fs.existsSync(path.join(root, m[1]))) problems.push(`${m[1]}: no such file in the project`);
  }
  return problems;
}

export function checkShellBlock(block: DocBlock, root: string): DocFailure[] {
  const scripts = scriptsOf(root);
  return block.code.split('\n').flatMap((text, i) =>
    shellLineProblems(text, root, scripts).map((message) => ({
      file: block.file,
      line: block.line + 1 + i,
      message,
    })),
  );
}

export function checkInlineCommand(cmd: InlineCommand, root: string): DocFailure[] {
  return shellLineProblems(cmd.text, root, scriptsOf(root)).map((message) => ({
    file: cmd.file,
    line: cmd.line,
    message,
  }));
}

// ---------------------------------------------------------------------------------------------
// TypeScript blocks: type check

const virtualName = (root: string, i: number) => path.join(root, `.doctest-check-${i}.ts`);

/** Type errors of every TypeScript block (one program; each block is a module of its own). */
export function typecheckBlocks(blocks: DocBlock[], root: string): Map<DocBlock, DocFailure[]> {
  const tsBlocks = blocks.filter((b) => b.kind === 'ts');
  const files = new Map(
    tsBlocks.map((b, i) => [path.resolve(virtualName(root, i)), { block: b, text: `${b.code}\nexport {};\n` }]),
  );
  const program = virtualProgram(root, new Map([...files].map(([f, v]) => [f, v.text])));
  const result = new Map<DocBlock, DocFailure[]>(tsBlocks.map((b) => [b, []]));
  const optionErrors = program.getOptionsDiagnostics();
  for (const [name, { block }] of files) {
    const sf = program.getSourceFile(name)!;
    const diags = [...optionErrors, ...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    result.set(
      block,
      diags.map((d) => {
        const pos =
          d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: -1, character: 0 };
        return {
          file: block.file,
          line: block.line + 1 + Math.max(0, pos.line),
          message: `col ${pos.character + 1}: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        };
      }),
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// TypeScript blocks: run

export interface RunResult {
  failure?: DocFailure;
  /** stdout and stderr, with the temporary file's name replaced by markdown file:line. */
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the block after this many milliseconds (default 120 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

let counter = 0;

/** Runs one TypeScript block with vite-node, asynchronously (never blocks the caller's event loop). */
export async function runBlock(block: DocBlock, root: string, opts: RunOptions = {}): Promise<RunResult> {
  const base = `.doctest-${process.pid}-${counter++}.ts`;
  const file = path.join(root, base);
  fs.writeFileSync(file, `${block.code}\nexport {};\n`);
  try {
    const viteNode = path.join(root, 'node_modules', 'vite-node', 'vite-node.mjs');
    const args = [viteNode, '--config', path.join(root, 'tools', 'doctest', 'vite.config.ts'), file];
    const env = { ...process.env, RESNET_TS_DOCTEST: '1', ...opts.env };
    const r = await spawnAsync(process.execPath, args, root, env, opts.timeoutMs ?? 120_000);
    // file:line inside the temporary module -> the markdown file's line.
    const where = new RegExp(`(?:file://)?(?:[\\w./-]*/)?${base.replace(/[.]/g, '\\.')}(?::(\\d+))?(?::(\\d+))?`, 'g');
    const relocate = (s: string) =>
      s.replace(
        where,
        (_m, l?: string, c?: string) => `${block.file}${l ? `:${block.line + Number(l)}` : ''}${c ? `:${c}` : ''}`,
      );
    const stdout = relocate(r.stdout),
      stderr = relocate(r.stderr);
    if (r.timedOut || r.code !== 0) {
      const tail = (stdout + stderr).trimEnd().split('\n').slice(-30).join('\n');
      const why = r.timedOut
        ? `timed out after ${(opts.timeoutMs ?? 120_000) / 1000} s`
        : `exit code ${r.code ?? r.signal}`;
      return {
        stdout,
        stderr,
        failure: { file: block.file, line: block.line, message: `ts block failed (${why}):\n${tail}` },
      };
    }
    return { stdout, stderr };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function spawnAsync(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '',
      timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Everything

/** Marker errors: a no-run marker must say why. */
export function checkMarker(block: DocBlock): DocFailure[] {
  return block.noRun === ''
    ? [{ file: block.file, line: block.line, message: 'no-run marker without a reason (write `no-run: <why>`)' }]
    : [];
}

/** Every failure of the given markdown files (relative to `root`), blocks in order. */
export async function checkDocs(root: string, files: string[], opts: RunOptions = {}): Promise<DocFailure[]> {
  const docs = files.map((f) => readDoc(root, f));
  const blocks = docs.flatMap((d) => d.blocks);
  const typeErrors = typecheckBlocks(blocks, root);
  const failures: DocFailure[] = docs.flatMap((d) => d.commands.flatMap((c) => checkInlineCommand(c, root)));
  for (const b of blocks) {
    failures.push(...checkMarker(b));
    if (b.kind === 'shell') failures.push(...checkShellBlock(b, root));
    if (b.kind !== 'ts') continue;
    const errors = typeErrors.get(b) ?? [];
    failures.push(...errors);
    if (errors.length === 0 && b.noRun === undefined) {
      const r = await runBlock(b, root, opts);
      if (r.failure) failures.push(r.failure);
    }
  }
  return failures.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

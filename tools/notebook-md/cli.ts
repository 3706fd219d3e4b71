/**
 * Notebook tools (no nbconvert, no Python):
 *
 *   md:sync        write notebooks/<name>.md, the markdown mirror of each notebooks/<name>.ipynb
 *   md:check       fail (naming the notebook and the first difference) when a mirror is out of date
 *   md:to-ipynb F  convert a markdown form back: F.md -> F.ipynb (or --out FILE)
 *   nb:policy      fail when a committed notebook has outputs or execution counts (naming notebook and cell)
 *   nb:strip       remove outputs, execution counts and execution metadata from notebooks/*.ipynb in place
 *   nb:typecheck   type-check every notebook's code cells against src/ (tslab semantics)
 *   site           build the course site in build/site/ (see tools/notebook-md/site.ts), with demo.html,
 *                  the trained model in the browser (demo.ts: runs/fast/model, --demo-recipe NAME for
 *                  runs/NAME/model, --no-demo leaves it out)
 *
 * Run as `npm run <command>`; options: --dir DIR (notebook folder, default notebooks/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { checkMirrors, listNotebooks, syncMirrors } from './mirror';
import { checkOutputPolicy } from './policy';
import { markdownToNotebook } from './markdown';
import { readNotebook, stringifyNotebook } from './ipynb';
import { findProjectRoot } from '../../src/project_root';
import { isFastMode } from '../../src/recipe';

const ROOT = findProjectRoot(__dirname);

interface CommandContext {
  /** The notebooks' folder (--dir, default notebooks/). */
  dir: string;
  positionals: string[];
  values: { out?: string; in?: string; 'require-executed'?: boolean; 'no-demo'?: boolean; 'demo-recipe'?: string };
}

/** Removes outputs, execution counts and timing metadata from the committed notebooks. */
function stripNotebooks(dir: string): void {
  for (const f of listNotebooks(dir)) {
    const nb = readNotebook(f);
    let changed = false;
    for (const c of nb.cells) {
      if (c.cell_type === 'code' && ((c.outputs ?? []).length || c.execution_count != null)) {
        c.outputs = [];
        c.execution_count = null;
        changed = true;
      }
      if (c.metadata && 'execution' in c.metadata) {
        delete c.metadata.execution;
        changed = true;
      }
    }
    if (changed) {
      fs.writeFileSync(f, stringifyNotebook(nb));
      console.log(`nb:strip: ${path.relative(process.cwd(), f)}`);
    }
  }
}

/** One function per command; each returns the exit code. */
const COMMANDS: Record<string, (c: CommandContext) => number | Promise<number>> = {
  sync: ({ dir }) => {
    const written = syncMirrors(dir);
    for (const f of written) console.log(`md:sync: wrote ${path.relative(process.cwd(), f)}`);
    console.log(`md:sync: ${listNotebooks(dir).length} notebook(s), ${written.length} mirror(s) updated`);
    return 0;
  },
  check: ({ dir }) => {
    const problems = checkMirrors(dir);
    for (const p of problems) console.error(`md:check: ${p.message}`);
    if (problems.length === 0) console.log(`md:check: ${listNotebooks(dir).length} notebook mirror(s) up to date`);
    return problems.length ? 1 : 0;
  },
  'to-ipynb': ({ positionals, values }) => {
    if (positionals.length !== 1) {
      console.error('md:to-ipynb: give one markdown file');
      return 2;
    }
    const src = positionals[0];
    const out = values.out ?? src.replace(/\.md$/, '') + '.ipynb';
    fs.writeFileSync(out, stringifyNotebook(markdownToNotebook(fs.readFileSync(src, 'utf8'), { name: src })));
    console.log(`md:to-ipynb: wrote ${out}`);
    return 0;
  },
  policy: ({ dir }) => {
    const violations = checkOutputPolicy(dir);
    for (const p of violations)
      console.error(`nb:policy: ${p.message} (committed notebooks carry no outputs: npm run nb:strip)`);
    if (violations.length === 0) console.log(`nb:policy: ${listNotebooks(dir).length} notebook(s) without outputs`);
    return violations.length ? 1 : 0;
  },
  strip: ({ dir }) => {
    stripNotebooks(dir);
    return 0;
  },
  typecheck: async ({ dir, positionals }) => {
    const { typecheckNotebooks, formatTypeErrors } = await import('./typecheck');
    const files = positionals.length ? positionals.map((p) => path.resolve(p)) : listNotebooks(dir);
    const errors = typecheckNotebooks(files, { root: ROOT });
    if (errors.length) console.error(formatTypeErrors(errors, process.cwd()));
    else console.log(`nb:typecheck: ${files.length} notebook(s), no type errors`);
    return errors.length ? 1 : 0;
  },
  site: async ({ dir, values }) => {
    const { buildSite } = await import('./site');
    const r = await buildSite({
      root: ROOT,
      sourceDir: dir,
      executedDir: path.resolve(values.in ?? path.join(ROOT, 'build', 'notebooks')),
      outDir: path.resolve(values.out ?? path.join(ROOT, 'build', 'site')),
      requireExecuted: !!values['require-executed'],
      // The demo page runs the `fast` recipe's model (fast mode: the tiny recipe's).
      demo: values['no-demo'] ? undefined : { recipe: values['demo-recipe'] ?? (isFastMode() ? 'tiny' : 'fast') },
      log: (l) => console.log(`site: ${l}`),
    });
    console.log(
      `site: ${r.pages.length} page(s) + index in ${path.relative(process.cwd(), r.outDir) || '.'}: ${r.pages.map((p) => p.file).join(', ')}`,
    );
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      dir: { type: 'string' },
      out: { type: 'string' },
      in: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      'require-executed': { type: 'boolean' },
      'no-demo': { type: 'boolean' },
      'demo-recipe': { type: 'string' },
    },
    allowPositionals: true,
  });
  const run = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run) return run({ dir: path.resolve(values.dir ?? path.join(ROOT, 'notebooks')), positionals, values });
  // No command, help, or an unknown one: this file's header is the usage.
  console.log(
    fs
      .readFileSync(__filename, 'utf8')
      .match(/\/\*\*([\s\S]*?)\*\//)?.[1]
      .replace(/^ \* ?/gm, '') ?? '',
  );
  return command === undefined || command === 'help' || values.help ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`notebook-md: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);

/**
 * Documentation that runs: every code block of the project's documentation (tools/doctest/run.ts
 * says what is checked how), one test per block named by file and line.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocBlock } from '../../tools/doctest/extract';
import {
  DocFailure,
  RunResult,
  checkDocs,
  checkInlineCommand,
  checkMarker,
  checkShellBlock,
  docFiles,
  formatFailure,
  readDoc,
  runBlock,
  typecheckBlocks,
} from '../../tools/doctest/run';

const ROOT = path.resolve(__dirname, '../..');
const docs = docFiles(ROOT).map((file) => ({ file, ...readDoc(ROOT, file) }));
const blocks = docs.flatMap((d) => d.blocks);
const report = (fs: DocFailure[]) => fs.map(formatFailure).join('\n');
// Each block runs once; the tests of its output below reuse the run.
const runs = new Map<DocBlock, Promise<RunResult>>();
const run = (b: DocBlock) => {
  if (!runs.has(b)) runs.set(b, runBlock(b, ROOT, { timeoutMs: 170_000 }));
  return runs.get(b)!;
};

let typeErrors: Map<DocBlock, DocFailure[]>;
beforeAll(() => {
  typeErrors = typecheckBlocks(blocks, ROOT);
});

describe('documentation code blocks', () => {
  it("covers the README, ARCHITECTURE.md, docs/ and the tools' READMEs", () => {
    expect(docs.map((d) => d.file)).toEqual(
      expect.arrayContaining(['README.md', 'ARCHITECTURE.md', 'docs/measurements.md', 'tools/notebook-md/README.md']),
    );
    expect(blocks.filter((b) => b.kind === 'ts' && b.noRun === undefined).length).toBeGreaterThanOrEqual(2);
  });

  for (const b of blocks.filter((x) => x.kind !== 'other')) {
    const label = `${b.file}:${b.line} (${b.lang}${b.noRun !== undefined ? `, no-run: ${b.noRun}` : ''})`;
    it(label, async () => {
      const failures = [
        ...checkMarker(b),
        ...(b.kind === 'shell' ? checkShellBlock(b, ROOT) : (typeErrors.get(b) ?? [])),
      ];
      if (b.kind === 'ts' && failures.length === 0 && b.noRun === undefined) {
        const r = await run(b);
        if (r.failure) failures.push(r.failure);
      }
      expect(report(failures)).toBe('');
    });
  }

  it('inline npm commands in prose name existing scripts', () => {
    expect(report(docs.flatMap((d) => d.commands.flatMap((c) => checkInlineCommand(c, ROOT))))).toBe('');
  });
});

describe("the README's library example", () => {
  it('runs as written (small data through RESNET_TS_DOCTEST) and prints the shape, the epoch line and the history', async () => {
    const readme = blocks.find(
      (b) => b.file === 'README.md' && b.kind === 'ts' && b.code.includes('loadDataFashionMnist'),
    )!;
    expect(readme.code).toContain('new ResNet(10, /* verbose */ false)');
    expect(readme.code).not.toMatch(/build\(|trainLimit|testLimit/); // as a new user writes it: no explicit build, full data
    const r = await run(readme);
    expect(r.failure).toBeUndefined();
    expect(r.stdout).toContain('[ 4, 3, 3, 8 ]');
    expect(r.stdout).toMatch(/^Epoch 0\. Loss: \d+\.\d{3}, Train acc \d\.\d\d, Test acc \d\.\d\d, /m);
    const history = r.stdout.match(
      /^\[\s*\{[^]*epoch: 0,[^]*loss: ([\d.]+),[^]*trainAcc: ([\d.]+),[^]*testAcc: ([\d.]+),[^]*\}\s*\]$/m,
    );
    expect(history, r.stdout).not.toBeNull();
    const [loss, trainAcc, testAcc] = history!.slice(1).map(Number);
    expect(loss).toBeGreaterThan(0);
    // 64 training images, 32 test images: accuracies are multiples of 1/64 and 1/32.
    expect(Number.isInteger(trainAcc * 64) && Number.isInteger(testAcc * 32)).toBe(true);
  });
});

describe("the README's deferred-initialisation example", () => {
  it('prints what its comments say', async () => {
    const b = blocks.find(
      (x) => x.file === 'README.md' && x.kind === 'ts' && x.code.includes('net.build([96, 96, 1])'),
    )!;
    expect(b.code).toContain('// 11178250');
    const r = await run(b);
    expect(r.failure).toBeUndefined();
    expect(r.stdout.trim().split('\n')).toEqual(['false', '11178250']);
  });
});

describe('the doc-test runner', () => {
  const FIXTURE = 'test/fixtures/doctest/broken.md';

  it('fails a broken fixture naming the file and the line of each broken block, and passes the good ones', async () => {
    const failures = await checkDocs(ROOT, [FIXTURE], { timeoutMs: 120_000 });
    const lines = failures.map(formatFailure);
    const at = (line: number) => lines.filter((l) => l.startsWith(`${FIXTURE}:${line}: `)).join('\n');
    expect(at(5)).toMatch(/TS2322: Type 'string' is not assignable to type 'number'/); // type error, line 5 of the file
    expect(at(9)).toMatch(/ts block failed \(exit code 1\)/); // throws at run time: the fence's line
    expect(at(9)).toContain('broken on purpose');
    expect(at(9)).toContain(`${FIXTURE}:11`); // the stack names the markdown line of the throw
    expect(at(14)).toMatch(/no-run marker without a reason/);
    expect(at(20)).toMatch(/package.json has no script 'no-such-script'/);
    expect(at(21)).toMatch(/tools\/no-such-tool\.sh: no such file/);
    expect(at(24)).toMatch(/package.json has no script 'also-missing'/); // inline command in prose
    expect(at(28)).toMatch(/TS2339: Property 'noSuchMethod' does not exist on type 'ResNet'/); // no-run, still type-checked
    // The blocks that are fine (a no-run block with a reason, a runnable one, `npm test`) add nothing.
    expect(lines).toHaveLength(7);
  });
});

/**
 * `npm run doctest [-- file.md ...]`: checks the documentation's code blocks (see run.ts) and
 * prints one `file:line: problem` per failure; exits 1 when there is any. Default files: docFiles().
 */
import * as path from 'node:path';
import { findProjectRoot } from '../../src/project_root';
import { checkDocs, docFiles, formatFailure } from './run';

async function main(): Promise<void> {
  const root = findProjectRoot(__dirname);
  const files = process.argv
    .slice(2)
    .filter((a) => a !== '--')
    .map((f) => path.relative(root, path.resolve(f)));
  const list = files.length ? files : docFiles(root);
  const failures = await checkDocs(root, list);
  for (const f of failures) process.stderr.write(`${formatFailure(f)}\n`);
  process.stdout.write(`doctest: ${list.length} file(s), ${failures.length} failure(s)\n`);
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`doctest: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});

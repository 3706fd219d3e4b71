/**
 * The one way every part of the project (library, tools, tests) finds the repository root, from
 * source (`src/...`, `tools/...` under vite-node or vitest) and from the tsc build (`dist/...`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_NAME = 'resnet-ts';

/**
 * The nearest ancestor of `start` holding a package.json named "resnet-ts"; else the nearest one
 * holding any package.json; else the current directory. Stops at the file system's root.
 */
export function findProjectRoot(start: string = __dirname): string {
  let firstPkg: string | undefined;
  for (let d = path.resolve(start); ; d = path.dirname(d)) {
    const pkg = path.join(d, 'package.json');
    if (fs.existsSync(pkg)) {
      firstPkg ??= d;
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === PACKAGE_NAME) return d;
      } catch {
        /* unreadable package.json: keep looking */
      }
    }
    if (path.dirname(d) === d) break;
  }
  return firstPkg ?? process.cwd();
}

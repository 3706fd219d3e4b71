#!/usr/bin/env node
/**
 * Makes the notebooks runnable:
 *
 * 1. Links notebooks/node_modules/resnet-ts -> the project root, so that `import ... from
 *    'resnet-ts'` resolves in notebook cells. Node alone would resolve the package's own name
 *    through package.json `exports`, but tslab type-checks cells with TypeScript's `node10`
 *    module resolution, which only looks in node_modules directories. The link lives outside
 *    the root node_modules, so `npm install` / `npm ci` never prune it.
 * 2. Installs the Jupyter kernelspec `resnet-ts` ("TypeScript (resnet-ts)"): the project's own
 *    kernel (tools/kernel: Jupyter messaging around tslab's TypeScript engine, built to
 *    dist/tools/kernel/main.js by `npm run build`), started with the node binary that runs this
 *    script (absolute paths, whatever is on the PATH of the Jupyter server).
 *
 *   node tools/setup-notebooks.js            # link + build/kernelspec/resnet-ts +
 *                                              # `jupyter kernelspec install --user --replace`
 *   node tools/setup-notebooks.js --print    # prints the kernel.json only
 *
 * Plain JavaScript so that setup can run it before (or without) the TypeScript build.
 * The notebook runner (tools/notebook-runner/cli.ts) reads the installed spec's argv and re-creates
 * the link when it is missing.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const NAME = 'resnet-ts';
const root = path.resolve(__dirname, '..');
const tslabBin = path.join(root, 'node_modules', 'tslab', 'bin', 'tslab');
const kernelMain = path.join(root, 'dist', 'tools', 'kernel', 'main.js');

function kernelJson() {
  return {
    argv: [process.execPath, kernelMain, '--config-path', '{connection_file}'],
    display_name: 'TypeScript (resnet-ts)',
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { project: root },
  };
}

/** notebooks/node_modules/resnet-ts -> ../.. (idempotent). */
function linkPackage() {
  const dir = path.join(root, 'notebooks', 'node_modules');
  const link = path.join(dir, 'resnet-ts');
  fs.mkdirSync(dir, { recursive: true });
  let current = null;
  try {
    current = fs.readlinkSync(link);
  } catch {
    /* absent */
  }
  if (current === path.join('..', '..')) return;
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(path.join('..', '..'), link, 'dir');
}

function findJupyter() {
  for (const c of [process.env.JUPYTER, '/usr/bin/jupyter', 'jupyter']) {
    if (!c) continue;
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {
      /* try the next */
    }
  }
  return null;
}

function main() {
  if (!fs.existsSync(tslabBin)) {
    console.error(`setup-notebooks: ${tslabBin} is missing; run npm ci first`);
    process.exit(1);
  }
  const spec = kernelJson();
  if (process.argv.includes('--print')) {
    console.log(JSON.stringify(spec, null, 2));
    return;
  }
  linkPackage();
  const dir = path.join(root, 'build', 'kernelspec', NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
  const jupyter = findJupyter();
  if (!jupyter) {
    console.error(
      'setup-notebooks: jupyter not found (apt-get install jupyter-client jupyter-notebook); ' +
        `kernelspec left in ${dir}`,
    );
    process.exit(1);
  }
  execFileSync(jupyter, ['kernelspec', 'install', '--user', '--replace', '--name', NAME, dir], { stdio: 'inherit' });
}

if (require.main === module) main();
module.exports = { NAME, kernelJson, linkPackage };

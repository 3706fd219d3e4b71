#!/usr/bin/env node
/**
 * Builds the optional native oneDNN back end (native/ -> native/build/Release/resnet_onednn.node).
 *
 * Run by `npm install` (package.json "install"): when oneDNN, a C++ compiler or node-gyp is missing, or the
 * build fails, it prints ONE warning and exits 0 so installation still succeeds (the JS 'cpu' back end works).
 * `npm run build:native` (--force) runs the same build but fails loudly, with the compiler output.
 * RESNET_SKIP_NATIVE=1 skips the build.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const force = process.argv.includes('--force');
const HOW = 'apt-get install libdnnl-dev g++ && npm run build:native';

function giveUp(why, log) {
  if (force) {
    if (log) process.stderr.write(log);
    console.error(`build-native: ${why}\n  to enable the native back end: ${HOW}`);
    process.exit(1);
  }
  console.warn(
    `resnet-ts: native oneDNN back end NOT built (${why}); falling back to the JS cpu back end. ` +
      `To enable it: ${HOW}`,
  );
  process.exit(0);
}

if (process.env.RESNET_SKIP_NATIVE === '1' && !force) process.exit(0);
if (!fs.existsSync(path.join(nativeDir, 'binding.gyp'))) giveUp('native/binding.gyp missing');

// 1. a C++ compiler
const cxx = process.env.CXX || 'g++';
const cc = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
if (cc.error || cc.status !== 0) giveUp(`no C++ compiler (${cxx})`);

// 2. oneDNN headers and library
const incDirs = ['/usr/include', '/usr/local/include', '/opt/homebrew/include'];
if (!incDirs.some((d) => fs.existsSync(path.join(d, 'dnnl.hpp')))) giveUp('oneDNN headers (dnnl.hpp) not found');
const probe = spawnSync(cxx, ['-x', 'c++', '-', '-o', '/dev/null', '-ldnnl'], {
  input: '#include <dnnl.hpp>\nint main(){ dnnl::engine e(dnnl::engine::kind::cpu, 0); return 0; }\n',
  encoding: 'utf8',
});
if (probe.error || probe.status !== 0) giveUp('cannot link against oneDNN (-ldnnl)', probe.stderr);

// 3. node-gyp (a dependency, so it works offline) and node headers
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
} catch {
  giveUp('node-gyp not installed');
}
const args = [gyp, 'rebuild'];
// Prefer the headers installed next to this node binary (no download needed).
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const jobs = Math.max(1, require('os').cpus().length);
args.push('-j', String(jobs));

const build = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', env: process.env });
if (build.error || build.status !== 0) {
  const log = path.join(nativeDir, 'build-native.log');
  try {
    fs.writeFileSync(log, `${build.stdout || ''}\n${build.stderr || ''}`);
  } catch {
    /* ignore */
  }
  giveUp(`compilation failed, see ${path.relative(root, log)}`, force ? `${build.stdout}\n${build.stderr}` : '');
}

// 4. smoke test: the addon loads and runs
const addonPath = path.join(nativeDir, 'build', 'Release', 'resnet_onednn.node');
try {
  const info = require(addonPath).info();
  console.log(`resnet-ts: native oneDNN back end built (oneDNN ${info.onednn}, ${info.threads} threads)`);
} catch (e) {
  giveUp(`built addon does not load: ${e.message}`);
}

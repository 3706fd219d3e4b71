/**
 * The JupyterLab front end of lab-app/: building it (npm ci + webpack, once, cached by the hash of
 * its inputs) and starting it (lab-app/serve.py under Debian's python3, which has jupyter-server and
 * jupyterlab-server). Used by `npm run lab`, the setup script and the JupyterLab browser test.
 *
 * The build is keyed by a hash of lab-app/package.json, package-lock.json, index.js and
 * webpack.config.js. lab-app/build/resnet-ts-lab.json records that hash (a build from other inputs is
 * rebuilt) and what the build contains: versions and the Vega-Lite MIME types its renderer takes.
 * A finished build is also copied to ~/.cache/resnet-ts/lab/<hash>, so a fresh clone on the same
 * machine (CI) copies it instead of spending two minutes in webpack.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../free_ports';
import { findProjectRoot } from '../../src/project_root';

export const ROOT = findProjectRoot(__dirname);
export const LAB_DIR = path.join(ROOT, 'lab-app');
export const LAB_BUILD = path.join(LAB_DIR, 'build');
export const MANIFEST = path.join(LAB_BUILD, 'resnet-ts-lab.json');
/** Debian's interpreter: the one with python3-jupyter-server / -jupyterlab-server (not pyenv's). */
export const PYTHON = process.env.RESNET_TS_LAB_PYTHON ?? '/usr/bin/python3';
const INPUTS = ['package.json', 'package-lock.json', 'index.js', 'webpack.config.js'];

export interface LabManifest {
  inputsHash: string;
  jupyterlab: string;
  versions: Record<string, string>;
  /** The MIME types @jupyterlab/vega5-extension registers its renderer for. */
  vegaMimeTypes: string[];
  builtAt: string;
}

export function inputsHash(): string {
  const h = createHash('sha256');
  for (const f of INPUTS)
    h.update(f)
      .update('\0')
      .update(fs.readFileSync(path.join(LAB_DIR, f)));
  return h.digest('hex').slice(0, 16);
}

export function readManifest(): LabManifest | null {
  try {
    return JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as LabManifest;
  } catch {
    return null;
  }
}

/** The build in lab-app/build, if it was made from the current inputs. */
export function currentBuild(): LabManifest | null {
  const m = readManifest();
  return m && m.inputsHash === inputsHash() && fs.existsSync(path.join(LAB_BUILD, 'bundle.js')) ? m : null;
}

function cacheDir(hash: string): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'resnet-ts', 'lab', hash);
}

function run(cmd: string, args: string[], cwd: string, log: (s: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`lab: \`${cmd} ${args.join(' ')}\` (in ${cwd}) exited with ${code}:\n${tail}`));
    });
    log(`lab: ${cmd} ${args.join(' ')}`);
  });
}

/** The vega5-extension's MIME constants, read from its compiled module (ESM for the browser). */
export function vegaMimeTypesOf(labDir = LAB_DIR): string[] {
  const file = path.join(labDir, 'node_modules', '@jupyterlab', 'vega5-extension', 'lib', 'index.js');
  const src = fs.readFileSync(file, 'utf8');
  const types = [...src.matchAll(/export const VEGA\w*_MIME_TYPE = '([^']+)'/g)].map((m) => m[1]);
  if (types.length === 0) throw new Error(`lab: no *_MIME_TYPE constants found in ${file}`);
  return types;
}

function versionOf(pkg: string): string {
  const file = path.join(LAB_DIR, 'node_modules', ...pkg.split('/'), 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Copies a directory tree to `dest` through a temporary sibling and a rename (never half a copy). */
function copyAtomically(src: string, dest: string): void {
  const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
  fs.cpSync(src, tmp, { recursive: true });
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
}

/**
 * Makes lab-app/build current: nothing to do, a copy from the cache, or npm ci + webpack (about
 * 2.5 minutes on two cores; needs the npm registry). Returns the manifest.
 */
export async function ensureLabBuilt(log: (s: string) => void = console.log): Promise<LabManifest> {
  const ready = currentBuild();
  if (ready) return ready;
  const hash = inputsHash();
  const cached = cacheDir(hash);
  if (fs.existsSync(path.join(cached, 'resnet-ts-lab.json'))) {
    log(`lab: using the build cached in ${cached}`);
    copyAtomically(cached, LAB_BUILD);
    return readManifest()!;
  }
  log('lab: building the JupyterLab front end (npm ci + webpack, a few minutes, once)');
  await run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], LAB_DIR, log);
  fs.rmSync(LAB_BUILD, { recursive: true, force: true });
  await run(path.join(LAB_DIR, 'node_modules', '.bin', 'webpack'), [], LAB_DIR, log);
  const manifest: LabManifest = {
    inputsHash: hash,
    jupyterlab: versionOf('@jupyterlab/application'),
    versions: Object.fromEntries(
      ['@jupyterlab/vega5-extension', 'vega', 'vega-lite', 'vega-embed'].map((p) => [p, versionOf(p)]),
    ),
    vegaMimeTypes: vegaMimeTypesOf(),
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  try {
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    copyAtomically(LAB_BUILD, cached);
  } catch (e) {
    log(`lab: could not cache the build in ${cached} (${(e as Error).message}); continuing`);
  }
  return manifest;
}

/** Why the lab cannot be served here (missing Python modules), or null when it can. */
export async function serverMissing(): Promise<string | null> {
  const probe =
    'import jupyter_server, jupyterlab_server; print(jupyter_server.__version__, jupyterlab_server.__version__)';
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-c', probe], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', (e) => resolve(`${PYTHON}: ${e.message}`));
    child.on('close', (code) =>
      resolve(
        code === 0
          ? null
          : `${PYTHON} cannot import jupyter_server/jupyterlab_server (Debian: apt-get install python3-jupyter-server python3-jupyterlab-server): ${err.trim().split('\n').pop()}`,
      ),
    );
  });
}

export interface LabServer {
  url: string;
  base: string;
  token: string;
  process: ChildProcess;
  /** Everything the server printed so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface StartLabOptions {
  /** The folder shown in the file browser (notebooks open relative to it). */
  root: string;
  port?: number;
  ip?: string;
  token?: string;
  /** Where user settings and workspaces are kept (default: ~/.jupyter/lab, as JupyterLab does). */
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Give up if the server does not answer within this time. */
  timeoutMs?: number;
}

/**
 * Starts lab-app/serve.py and waits until it answers; rejects with its output when it does not.
 * Without a given port, a free one is picked, and picked again (up to three times) when another
 * process takes it before the server binds it.
 */
export async function startLab(opts: StartLabOptions): Promise<LabServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLabOn(opts.port ?? (await freePort()), opts);
    } catch (e) {
      const collided = /already in use|could not bind|is not available/i.test((e as Error).message);
      if (opts.port !== undefined || !collided || attempt === 3) throw e;
    }
  }
}

async function startLabOn(port: number, opts: StartLabOptions): Promise<LabServer> {
  const token = opts.token ?? randomBytes(16).toString('hex');
  const ip = opts.ip ?? '127.0.0.1';
  const base = `http://${ip}:${port}`;
  const args = [
    path.join(LAB_DIR, 'serve.py'),
    `--ServerApp.ip=${ip}`,
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${opts.root}`,
    `--ServerApp.token=${token}`,
    '--ServerApp.open_browser=False',
    '--MappingKernelManager.cull_idle_timeout=0',
  ];
  if (process.getuid?.() === 0) args.push('--allow-root');
  let out = '';
  const child = spawn(PYTHON, args, {
    cwd: opts.root,
    env: {
      ...process.env,
      BROWSER: '',
      ...(opts.stateDir ? { RESNET_TS_LAB_STATE: opts.stateDir } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const server: LabServer = {
    url: `${base}/lab?token=${token}`,
    base,
    token,
    process: child,
    log: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      if (r.ok) return server;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await server.stop();
      throw new Error(`lab: the server did not start on ${base}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * tryGpu's choice on simulated machines: which optional back ends load is faked (the tfjs-node
 * packages through Node's module loader, the native addon and the onednn registration through
 * mocks), so each test sees a fresh select.ts and checks the order of the candidates, the reason
 * recorded for each, the device's description, the pure-JS warning, forcing, and the precision.
 * (select.test.ts checks the same on this machine as it is.)
 */
import Module from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Bf16Support } from '../../src/backend/precision';

const world = vi.hoisted(() => ({
  /** What registerOneDnnBackend answers. */
  onednn: { ok: false, reason: 'native addon not built (native/build missing)' } as { ok: boolean; reason: string },
  /** The addon's bf16 probe (null: no addon). */
  probe: null as { conv: boolean; impl: string } | null,
  probes: 0,
  cpuFlags: [] as string[],
}));

vi.mock('../../src/backend/onednn/register', () => ({
  registerOneDnnBackend: vi.fn(() => world.onednn),
}));
vi.mock('../../src/backend/onednn/addon', () => ({
  loadAddon: () => ({
    addon: world.probe
      ? {
          bf16Support: () => {
            world.probes++;
            return world.probe;
          },
        }
      : null,
    reason: world.probe ? '' : 'not built',
    path: 'x',
  }),
}));
vi.mock('../../src/backend/precision', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/backend/precision')>()),
  readBf16CpuFlags: () => world.cpuFlags,
}));

type Loader = { _load: (request: string, ...rest: unknown[]) => unknown };
const loader = Module as unknown as Loader;
const realLoad = loader._load;
const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';

/** How each tfjs-node package behaves when required; absent ones fail as npm leaves them. */
let packages: Record<string, () => unknown>;
let required: string[];

function notInstalled(pkg: string) {
  return () => {
    throw Object.assign(new Error(`Cannot find module '${pkg}'\nRequire stack:\n- src/backend/select.ts`), {
      code: 'MODULE_NOT_FOUND',
    });
  };
}

/** A package that loads and registers the 'tensorflow' back end, as tfjs-node does. */
function installs() {
  return () => {
    tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
    return {};
  };
}

const fakeBackend = (name: string) => tf.registerBackend(name, () => new MathBackendCPU(), 2);

const CPU_REASON = "tfjs's pure-JS kernels (slow: one core, no vectorised convolutions)";
const GPU_ABSENT = `${GPU} is not installed (optional dependency)`;
const NODE_ABSENT = `${NODE} is not installed (optional dependency)`;
const ONEDNN_ABSENT = 'native addon not built (native/build missing)';

beforeEach(async () => {
  vi.resetModules();
  packages = { [GPU]: notInstalled(GPU), [NODE]: notInstalled(NODE) };
  required = [];
  loader._load = function (request: string, ...rest: unknown[]) {
    if (request in packages) {
      required.push(request);
      return packages[request]();
    }
    return realLoad.call(this, request, ...rest);
  };
  world.onednn = { ok: false, reason: ONEDNN_ABSENT };
  world.probe = null;
  world.probes = 0;
  world.cpuFlags = [];
});

afterEach(async () => {
  loader._load = realLoad;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await tf.setBackend('cpu');
  for (const name of ['tensorflow', 'onednn']) if (tf.findBackendFactory(name)) tf.removeBackend(name);
});

/** A fresh select.ts (its caches empty). */
async function fresh() {
  vi.stubEnv('RESNET_TS_BACKEND', undefined as unknown as string);
  vi.stubEnv('RESNET_TS_PRECISION', undefined as unknown as string);
  return import('../../src/backend/select');
}

describe('the order: tfjs-node-gpu > tfjs-node > onednn > cpu', () => {
  it('nothing optional present: cpu, every skipped candidate with its reason, and one warning naming them', async () => {
    const { tryGpu, currentDevice } = await fresh();
    expect(currentDevice()).toBeUndefined();
    const log: string[] = [];
    const d = await tryGpu({ log: (l) => log.push(l) });
    expect(d.attempts).toEqual([
      { name: 'tensorflow-gpu', ok: false, reason: GPU_ABSENT },
      { name: 'tensorflow', ok: false, reason: NODE_ABSENT },
      { name: 'onednn', ok: false, reason: ONEDNN_ABSENT },
      { name: 'cpu', ok: true, reason: CPU_REASON },
    ]);
    expect(d).toMatchObject({ backend: 'cpu', kind: 'cpu', precision: 'fp32' });
    expect(d.description).toBe(`cpu (cpu: ${CPU_REASON}), fp32`);
    expect(tf.getBackend()).toBe('cpu');
    expect(currentDevice()).toBe(d);
    expect(log).toEqual([
      "resnet-ts: using tfjs's pure-JS CPU back end, which is very slow for ResNets (" +
        `tensorflow-gpu: ${GPU_ABSENT}; tensorflow: ${NODE_ABSENT}; onednn: ${ONEDNN_ABSENT}).`,
    ]);
  });

  it('the warning goes to console.warn by default', async () => {
    const { tryGpu } = await fresh();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await tryGpu();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/^resnet-ts: using tfjs's pure-JS CPU back end.*very slow/);
  });

  it('onednn when the native addon works: tried after both tfjs-node packages, no warning', async () => {
    world.onednn = { ok: true, reason: 'oneDNN 2.6.3, 2 threads' };
    fakeBackend('onednn');
    const { tryGpu } = await fresh();
    const log: string[] = [];
    const d = await tryGpu({ log: (l) => log.push(l) });
    expect(d.attempts.map((a) => [a.name, a.ok])).toEqual([
      ['tensorflow-gpu', false],
      ['tensorflow', false],
      ['onednn', true],
    ]);
    expect(required).toEqual([GPU, NODE]);
    expect(d).toMatchObject({ backend: 'onednn', kind: 'cpu', precision: 'fp32' });
    expect(d.description).toBe('cpu (onednn: oneDNN 2.6.3, 2 threads), fp32');
    expect(tf.getBackend()).toBe('onednn');
    expect(log).toEqual([]);
  });

  it('tfjs-node before onednn, and onednn is then not even registered', async () => {
    packages[NODE] = installs();
    world.onednn = { ok: true, reason: 'oneDNN' };
    const { tryGpu } = await fresh();
    const { registerOneDnnBackend } = await import('../../src/backend/onednn/register');
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts).toEqual([
      { name: 'tensorflow-gpu', ok: false, reason: GPU_ABSENT },
      { name: 'tensorflow', ok: true, reason: `${NODE} loaded` },
    ]);
    expect(d).toMatchObject({ backend: 'tensorflow', kind: 'cpu' });
    expect(d.description).toBe(`cpu (tensorflow: ${NODE} loaded), fp32`);
    expect(registerOneDnnBackend).not.toHaveBeenCalled();
  });

  it('tfjs-node-gpu first, as a gpu device', async () => {
    packages[GPU] = installs();
    packages[NODE] = installs();
    const { tryGpu } = await fresh();
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts).toEqual([{ name: 'tensorflow-gpu', ok: true, reason: `${GPU} loaded` }]);
    expect(required).toEqual([GPU]);
    expect(d).toMatchObject({ backend: 'tensorflow', kind: 'gpu', precision: 'fp32' });
    expect(d.description).toBe(`gpu (tensorflow-gpu: ${GPU} loaded), fp32`);
  });
});

describe('why an optional package was skipped', () => {
  it('a package that is there but does not load: the first line of its error and how to rebuild it', async () => {
    packages[GPU] = () => {
      throw new Error('libtensorflow.so.2: cannot open shared object file\n    at Module._extensions..node');
    };
    // A dependency of the package is missing: MODULE_NOT_FOUND, but not about the package itself.
    packages[NODE] = () => {
      throw Object.assign(new Error("Cannot find module 'node-pre-gyp'"), { code: 'MODULE_NOT_FOUND' });
    };
    const { tryGpu } = await fresh();
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts.slice(0, 2)).toEqual([
      {
        name: 'tensorflow-gpu',
        ok: false,
        reason:
          `${GPU} did not load (its install step downloads libtensorflow; where that works: npm rebuild ${GPU}): ` +
          'libtensorflow.so.2: cannot open shared object file',
      },
      {
        name: 'tensorflow',
        ok: false,
        reason:
          `${NODE} did not load (its install step downloads libtensorflow; where that works: npm rebuild ${NODE}): ` +
          "Cannot find module 'node-pre-gyp'",
      },
    ]);
  });

  it('a native library that fails to load is not "not installed", even when its path names the package', async () => {
    packages[GPU] = () => {
      throw Object.assign(new Error(`/app/node_modules/${GPU}/lib/napi-v8/tfjs_binding.node: invalid ELF header`), {
        code: 'ERR_DLOPEN_FAILED',
      });
    };
    const { tryGpu } = await fresh();
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts[0].reason).toBe(
      `${GPU} did not load (its install step downloads libtensorflow; where that works: npm rebuild ${GPU}): ` +
        `/app/node_modules/${GPU}/lib/napi-v8/tfjs_binding.node: invalid ELF header`,
    );
  });

  it('a thrown non-Error is reported as text', async () => {
    packages[GPU] = () => {
      throw 'no GPU driver\nsecond line';
    };
    const { tryGpu } = await fresh();
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts[0].reason).toMatch(/npm rebuild @tensorflow\/tfjs-node-gpu\): no GPU driver$/);
  });

  it('a package that loads without registering the tensorflow back end is skipped', async () => {
    packages[GPU] = () => ({});
    const { tryGpu } = await fresh();
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts[0]).toEqual({ name: 'tensorflow-gpu', ok: false, reason: `${GPU} loaded` });
    expect(d.backend).toBe('cpu');
  });

  it("each package is required once per process, and tfjs's warnings while loading it are held back", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    packages[GPU] = () => {
      console.warn('Overwriting the kernel registry for tensorflow');
      throw new Error('broken');
    };
    const { tryGpu } = await fresh();
    const first = await tryGpu({ log: () => {} });
    const second = await tryGpu({ log: () => {} });
    expect(required).toEqual([GPU, NODE]);
    expect(second.attempts).toEqual(first.attempts);
    expect(warn).not.toHaveBeenCalled();
    // console.warn is back afterwards.
    console.warn('after');
    expect(warn).toHaveBeenCalledWith('after');
  });
});

describe('when tf.setBackend refuses', () => {
  it('a back end whose initialisation fails is skipped with that reason', async () => {
    world.onednn = { ok: true, reason: 'oneDNN' };
    vi.spyOn(console, 'warn').mockImplementation(() => {}); // tfjs's own "Initialization of backend onednn failed"
    tf.registerBackend('onednn', () => {
      throw new Error('no kernels');
    });
    const { tryGpu } = await fresh();
    const log: string[] = [];
    const d = await tryGpu({ log: (l) => log.push(l) });
    expect(d.attempts[2]).toEqual({ name: 'onednn', ok: false, reason: "tf.setBackend('onednn') failed" });
    expect(d.backend).toBe('cpu');
    expect(log[0]).toContain("onednn: tf.setBackend('onednn') failed");
  });

  it('a back end that was never registered: the first line of what setBackend threw', async () => {
    world.onednn = { ok: true, reason: 'oneDNN' };
    const { tryGpu } = await fresh();
    const d = await tryGpu({ log: () => {} });
    expect(d.attempts[2]).toEqual({
      name: 'onednn',
      ok: false,
      reason: "tf.setBackend('onednn') threw: Backend name 'onednn' not found in registry",
    });
  });
});

describe('forcing a back end', () => {
  it('prefer: only that candidate, no warning for a forced cpu', async () => {
    const { tryGpu } = await fresh();
    const log: string[] = [];
    const d = await tryGpu({ prefer: 'cpu', log: (l) => log.push(l) });
    expect(d.attempts).toEqual([{ name: 'cpu', ok: true, reason: CPU_REASON }]);
    expect(required).toEqual([]);
    expect(log).toEqual([]);
  });

  it('RESNET_TS_BACKEND forces one; prefer wins over it', async () => {
    const { tryGpu } = await fresh();
    vi.stubEnv('RESNET_TS_BACKEND', 'cpu');
    expect((await tryGpu({ log: () => {} })).attempts.map((a) => a.name)).toEqual(['cpu']);
    world.onednn = { ok: true, reason: 'oneDNN' };
    fakeBackend('onednn');
    vi.stubEnv('RESNET_TS_BACKEND', 'tensorflow');
    const d = await tryGpu({ prefer: 'onednn' });
    expect(d.attempts.map((a) => a.name)).toEqual(['onednn']);
    expect(d.backend).toBe('onednn');
    vi.stubEnv('RESNET_TS_BACKEND', 'tpu');
    await expect(tryGpu()).rejects.toThrow(
      new Error(
        "unknown back end 'tpu' (RESNET_TS_BACKEND / --backend): use one of tensorflow-gpu, tensorflow, onednn, cpu",
      ),
    );
  });

  it('a forced back end that is unavailable: an error with its reason, and the back end unchanged', async () => {
    const { tryGpu } = await fresh();
    await tf.setBackend('cpu');
    await expect(tryGpu({ prefer: 'onednn' })).rejects.toThrow(
      new Error(`back end 'onednn' is not available: ${ONEDNN_ABSENT}`),
    );
    await expect(tryGpu({ prefer: 'tensorflow' })).rejects.toThrow(
      new Error(`back end 'tensorflow' is not available: ${NODE_ABSENT}`),
    );
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('the precision', () => {
  const epyc: Bf16Support = { cpuFlags: ['avx512_bf16'], onednnConv: true, onednnImpl: 'jit:avx512_core_bf16' };

  beforeEach(() => {
    world.onednn = { ok: true, reason: 'oneDNN' };
    fakeBackend('onednn');
  });

  it('is resolved only for the back end that loads (bf16-emulated past two absent packages to onednn)', async () => {
    const { tryGpu } = await fresh();
    const { convPrecision } = await import('../../src/backend/onednn/kernel_helpers/conv_common');
    const d = await tryGpu({ precision: 'bf16-emulated' });
    expect(d.backend).toBe('onednn');
    expect(d.precision).toBe('bf16-emulated');
    expect(d.description).toBe(
      'cpu (onednn: oneDNN), bf16-emulated: bf16 rounding on fp32 kernels (numerics only, not speed)',
    );
    expect(convPrecision()).toBe('bf16-emulated');
    await tryGpu({ prefer: 'cpu' });
    expect(convPrecision()).toBe('fp32');
  });

  it('RESNET_TS_PRECISION when no precision is given, named in its error; the option wins', async () => {
    const { tryGpu } = await fresh();
    vi.stubEnv('RESNET_TS_PRECISION', 'bf16');
    const d = await tryGpu({ bf16Support: epyc });
    expect(d.precision).toBe('bf16');
    expect(d.description).toBe('cpu (onednn: oneDNN), bf16: avx512_bf16 (oneDNN jit:avx512_core_bf16)');
    expect((await tryGpu({ precision: 'fp32', bf16Support: epyc })).precision).toBe('fp32');
    vi.stubEnv('RESNET_TS_PRECISION', 'half');
    await expect(tryGpu()).rejects.toThrow(
      new Error("unknown precision 'half' (RESNET_TS_PRECISION): use one of fp32, bf16, auto, bf16-emulated"),
    );
    await expect(tryGpu({ precision: 'fp16' as never })).rejects.toThrow(/^unknown precision 'fp16' \(precision\)/);
    vi.stubEnv('RESNET_TS_PRECISION', '');
    expect((await tryGpu()).precision).toBe('fp32');
  });

  it('a request the chosen back end cannot serve throws before the back end changes', async () => {
    const { tryGpu } = await fresh();
    await tf.setBackend('cpu');
    await expect(
      tryGpu({ prefer: 'onednn', precision: 'bf16', bf16Support: { ...epyc, cpuFlags: [] } }),
    ).rejects.toThrow(/^precision 'bf16' is not available: this CPU has no bf16 instructions/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it("auto: this machine's detection on onednn (once), none elsewhere", async () => {
    world.probe = { conv: true, impl: 'brg:avx512_core_amx' };
    world.cpuFlags = ['avx512_bf16', 'amx_bf16'];
    const { tryGpu, detectBf16Support } = await fresh();
    const d = await tryGpu({ precision: 'auto' });
    expect(d.precision).toBe('bf16');
    expect(d.description).toBe('cpu (onednn: oneDNN), bf16: avx512_bf16, amx_bf16 (oneDNN brg:avx512_core_amx)');
    const cpu = await tryGpu({ prefer: 'cpu', precision: 'auto' });
    expect(cpu.description).toBe(
      `cpu (cpu: ${CPU_REASON}), fp32 (auto: bf16 runs on the onednn back end only, this is 'cpu')`,
    );
    expect(detectBf16Support()).toEqual({
      cpuFlags: ['avx512_bf16', 'amx_bf16'],
      onednnConv: true,
      onednnImpl: 'brg:avx512_core_amx',
    });
    expect(world.probes).toBe(1);
  });

  it('back ends other than onednn never run the detection', async () => {
    world.probe = { conv: true, impl: 'brg:avx512_core_amx' };
    const { tryGpu } = await fresh();
    await tryGpu({ prefer: 'cpu', precision: 'auto' });
    expect(world.probes).toBe(0);
  });

  it('detection without the addon: no oneDNN answer', async () => {
    world.cpuFlags = ['avx512_bf16'];
    const { tryGpu, detectBf16Support } = await fresh();
    expect(detectBf16Support()).toEqual({ cpuFlags: ['avx512_bf16'], onednnConv: null, onednnImpl: '' });
    const d = await tryGpu({ precision: 'auto' });
    expect(d.description).toBe('cpu (onednn: oneDNN), fp32 (auto: the native oneDNN addon is not loaded)');
  });
});

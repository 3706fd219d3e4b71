import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { tryGpu } from '../../src/backend/select';

describe('tryGpu (back-end choice)', () => {
  it('never fails when the optional tfjs-node packages are absent, and says why it skipped them', async () => {
    const warnings: string[] = [];
    const d = await tryGpu({ log: (l) => warnings.push(l) });
    expect(['tensorflow', 'onednn', 'cpu']).toContain(d.backend);
    // CI builds the native addon (.ci/run checks it), so there the choice must be onednn.
    if (process.env.CI) expect(d.backend, d.description).toBe('onednn');
    expect(tf.getBackend()).toBe(d.backend);
    const names = d.attempts.map((a) => a.name);
    expect(names[0]).toBe('tensorflow-gpu');
    for (const a of d.attempts.filter((x) => !x.ok)) expect(a.reason.length).toBeGreaterThan(10);
    // The chosen one is the first that worked.
    expect(d.attempts[d.attempts.length - 1].ok).toBe(true);
    expect(d.attempts.slice(0, -1).every((a) => !a.ok)).toBe(true);
    expect(d.description).toContain(d.attempts[d.attempts.length - 1].name);
    if (d.backend === 'cpu') expect(warnings.join()).toMatch(/very slow/);
  });

  it('can be forced to the JS back end, and rejects unknown names clearly', async () => {
    const d = await tryGpu({ prefer: 'cpu' });
    expect(d.backend).toBe('cpu');
    expect(d.attempts).toHaveLength(1);
    await expect(tryGpu({ prefer: 'tpu' as never })).rejects.toThrow(/unknown back end 'tpu'.*cpu/);
  });

  it('reports an unavailable forced back end with the reason', async () => {
    await expect(tryGpu({ prefer: 'tensorflow-gpu' })).rejects.toThrow(/tfjs-node-gpu/);
    await tryGpu({ prefer: 'cpu' });
  });
});

/**
 * A network's weights through a safetensors file: saved from one seeded copy, loaded into a copy with
 * other initial weights, every weight expected back exactly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import '../../src'; // the file:// handler for save and loadWeights
import type { ResNet } from '../../src/models/resnet';
import type { PlainOrResidualNet } from '../../src/models/plain_vs_residual';
import { seedInitializers } from '../../src/nn/init';

export async function expectSafetensorsRoundTrip(build: () => ResNet | PlainOrResidualNet): Promise<void> {
  const make = (seed: number) => {
    seedInitializers(seed);
    const net = build();
    seedInitializers(undefined);
    return net;
  };
  const values = (net: ResNet | PlainOrResidualNet) =>
    net.namedVariables().map(([n, v]) => [n, Array.from(v.dataSync())]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'round-trip-'));
  const file = path.join(dir, 'net.safetensors');
  try {
    const net = make(1);
    await net.save(`file://${file}`);
    const other = make(2);
    expect(values(other)).not.toEqual(values(net));
    await other.loadWeights(`file://${file}`);
    expect(values(other)).toEqual(values(net));
    net.dispose();
    other.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

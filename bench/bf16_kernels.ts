/**
 * Element-wise kernels of the native back end on float32 and on bf16 activations (issue #28 item 2): the
 * median of 7 timed calls each, one after the other on the same arrays, so read the ratios.
 *
 *   npx vite-node bench/bf16_kernels.ts [--elements 4194304]
 */
import { parseArgs } from 'node:util';

import { loadAddon, UnaryOp } from '../src/backend/onednn/addon';

const { values } = parseArgs({ options: { elements: { type: 'string', default: String(1 << 22) } } });
const n = Number(values.elements);
const addon = loadAddon().addon;
if (!addon) throw new Error(`bench/bf16_kernels.ts needs the native addon: ${loadAddon().reason}`);

const x = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 2001) / 1000 - 1);
const y = new Float32Array(n);
const bits = new Uint16Array(n);
const bitsOut = new Uint16Array(n);
addon.bf16Round(x, y);
new Uint32Array(y.buffer).forEach((w, i) => (bits[i] = w >>> 16));

function time(name: string, f: () => void) {
  f();
  const ms: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`${name.padEnd(28)} ${ms[3].toFixed(3)} ms`);
}

console.log(`${n} elements, ${addon.info().threads} threads`);
time('relu float32', () => addon.unary(UnaryOp.Relu, x, y));
time('relu bf16 -> bf16', () => addon.unary(UnaryOp.Relu, bits, bitsOut));
time('add + relu float32', () => addon.addRelu(x, x, y));
time('add + relu bf16 -> bf16', () => addon.addRelu(bits, bits, bitsOut));
time('widen bf16 -> float32', () => addon.bf16Widen(bits, y));

/**
 * A module's summary table (what a notebook shows for a cell ending in `net`), like Keras'
 * model.summary() or torchinfo: each child with its kind, output shape (tfjs NHWC, and the seed's
 * NCHW beside it), parameters and multiply-adds per example (from the layers' own shapes), and
 * the totals, from one zero example run through the module (each child records its output shape
 * and the multiply-adds of that pass).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from './module';

export interface SummaryRow {
  name: string;
  kind: string;
  /** Per-example output shape (no batch dimension), NHWC; undefined when not known. */
  outputShape?: number[];
  parameters: number;
  /** Multiply-adds per example (convolutions and dense layers). */
  multiplyAdds: number;
}

export interface ModuleSummary {
  kind: string;
  built: boolean;
  inputShape?: number[];
  outputShape?: number[];
  rows: SummaryRow[];
  parameters: number;
  multiplyAdds: number;
}

const nchw = (s: number[]) => (s.length === 3 ? [s[2], s[0], s[1]] : s);
const fmt = (s?: number[]) => (s ? `(${s.join(', ')})` : '');
/** 1234567 -> '1.23 M' (multiply-adds). */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

export function summarize(m: Module): ModuleSummary {
  const kind = m.constructor.name;
  const children = m.children();
  if (!m.built) {
    return {
      kind,
      built: false,
      rows: children.map(([name, c]) => ({ name, kind: c.constructor.name, parameters: 0, multiplyAdds: 0 })),
      parameters: 0,
      multiplyAdds: 0,
    };
  }
  const inputShape = m.inputShape;
  const rows: SummaryRow[] = children.map(([name, c]) => ({
    name,
    kind: c.constructor.name,
    parameters: c.built ? c.numParameters() : 0,
    multiplyAdds: 0,
  }));
  let outputShape: number[] | undefined;
  if (inputShape) {
    // One example through the module: every child records its output shape on the way.
    tf.tidy(() => {
      outputShape = m.forward(tf.zeros([1, ...inputShape]), { training: false }).shape.slice(1);
    });
    children.forEach(([, c], i) => {
      rows[i].outputShape = c.lastOutputShape;
      rows[i].multiplyAdds = c.multiplyAdds();
    });
  }
  return {
    kind,
    built: true,
    inputShape,
    outputShape,
    rows,
    parameters: m.numParameters(),
    multiplyAdds: inputShape ? m.multiplyAdds() : 0,
  };
}

export function summaryText(s: ModuleSummary): string {
  if (!s.built) {
    return (
      `${s.kind} (not built yet: its parameters are created from its first input; call .build(inputShape))\n` +
      s.rows.map((r) => `  ${r.name}: ${r.kind}`).join('\n')
    );
  }
  const table = [
    ['block', 'kind', 'output (NHWC)', 'seed (NCHW)', 'parameters', 'mult-adds'],
    ...s.rows.map((r) => [
      r.name,
      r.kind,
      fmt(r.outputShape),
      fmt(r.outputShape && nchw(r.outputShape)),
      r.parameters.toLocaleString('en-US'),
      formatCount(r.multiplyAdds),
    ]),
  ];
  const w = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  const lines = table.map((row) =>
    row
      .map((v, j) => (j >= 4 ? v.padStart(w[j]) : v.padEnd(w[j])))
      .join('  ')
      .trimEnd(),
  );
  return [
    `${s.kind}: input ${fmt(s.inputShape)} -> output ${fmt(s.outputShape)}`,
    ...lines,
    `total parameters: ${s.parameters.toLocaleString('en-US')}, multiply-adds per example: ${formatCount(s.multiplyAdds)}`,
  ].join('\n');
}

const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function summaryHtml(s: ModuleSummary): string {
  if (!s.built) return `<pre>${esc(summaryText(s))}</pre>`;
  const td = (v: string, right = false) =>
    `<td style="font-family:monospace;padding:2px 10px;text-align:${right ? 'right' : 'left'}">${esc(v)}</td>`;
  const head = ['block', 'kind', 'output (tfjs, NHWC)', 'seed (MXNet, NCHW)', 'parameters', 'mult-adds']
    .map((h) => `<th style="padding:2px 10px">${h}</th>`)
    .join('');
  const body = s.rows
    .map(
      (r) =>
        `<tr>${td(r.name)}${td(r.kind)}${td(fmt(r.outputShape))}${td(fmt(r.outputShape && nchw(r.outputShape)))}` +
        `${td(r.parameters.toLocaleString('en-US'), true)}${td(formatCount(r.multiplyAdds), true)}</tr>`,
    )
    .join('');
  return (
    `<table class="module-summary"><caption style="text-align:left">${esc(s.kind)}: input ${esc(fmt(s.inputShape))}` +
    ` &rarr; output ${esc(fmt(s.outputShape))}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody>` +
    `<tfoot><tr><td colspan="4" style="padding:2px 10px">total</td>${td(s.parameters.toLocaleString('en-US'), true)}` +
    `${td(formatCount(s.multiplyAdds), true)}</tr></tfoot></table>`
  );
}

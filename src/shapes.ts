/**
 * Inline shape checks for notebooks: compare a tensor's shape with the expected one, throw (so
 * the cell fails) when they differ, and show the checks as a table next to the seed's NCHW shape.
 *
 * tfjs is channels-last: the seed's MXNet shape (N, C, H, W) is our [N, H, W, C].
 */
import { displayBundle } from './display/display';

export interface ShapeCheck {
  what: string;
  expected: number[];
  actual: number[];
  /** The same tensor's shape in the seed (MXNet, NCHW), for comparison. */
  seed?: number[];
  ok: boolean;
}

export class ShapeMismatchError extends Error {
  constructor(readonly check: ShapeCheck) {
    super(`shape check failed: ${check.what}: expected ${fmt(check.expected)}, got ${fmt(check.actual)}`);
    this.name = 'ShapeMismatchError';
  }
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;
const fmtSeed = (s: number[]) => `(${s.join(', ')})`;

/** NCHW -> NHWC (4-d shapes; other ranks are returned unchanged). */
export function nchwToNhwc(s: number[]): number[] {
  return s.length === 4 ? [s[0], s[2], s[3], s[1]] : [...s];
}

/** NHWC -> NCHW (4-d shapes; other ranks are returned unchanged). */
export function nhwcToNchw(s: number[]): number[] {
  return s.length === 4 ? [s[0], s[3], s[1], s[2]] : [...s];
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Checks one shape. `expected` defaults to the seed's shape converted to NHWC. Throws a
 * ShapeMismatchError when the shapes differ; returns the check for `showShapeChecks`.
 */
export function expectShape(
  what: string,
  actual: readonly number[],
  expected?: readonly number[] | null,
  seed?: readonly number[],
): ShapeCheck {
  const exp = expected ? [...expected] : seed ? nchwToNhwc([...seed]) : null;
  if (!exp) throw new Error(`expectShape(${what}): give the expected shape or the seed's`);
  const check: ShapeCheck = {
    what,
    expected: exp,
    actual: [...actual],
    seed: seed ? [...seed] : undefined,
    ok: same([...actual], exp),
  };
  if (!check.ok) throw new ShapeMismatchError(check);
  return check;
}

/** Plain-text table of checks (also what a notebook shows where HTML is not rendered). */
export function shapeChecksText(checks: ShapeCheck[]): string {
  const rows = [
    ['', 'seed (NCHW)', 'expected (NHWC)', 'got', ''],
    ...checks.map((c) => [
      c.what,
      c.seed ? fmtSeed(c.seed) : '',
      fmt(c.expected),
      fmt(c.actual),
      c.ok ? 'ok' : 'MISMATCH',
    ]),
  ];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows
    .map((r) =>
      r
        .map((v, j) => v.padEnd(widths[j]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** HTML table of checks. */
export function shapeChecksHtml(checks: ShapeCheck[]): string {
  const cell = (s: string, style = '') => `<td style="font-family:monospace;padding:2px 10px;${style}">${esc(s)}</td>`;
  const head = ['', 'seed (MXNet, NCHW)', 'expected (tfjs, NHWC)', 'got', '']
    .map((h) => `<th style="padding:2px 10px">${h}</th>`)
    .join('');
  const body = checks
    .map(
      (c) =>
        `<tr>${cell(c.what, 'text-align:left')}${cell(c.seed ? fmtSeed(c.seed) : '')}${cell(fmt(c.expected))}` +
        `${cell(fmt(c.actual))}${cell(c.ok ? '✓ ok' : '✗ mismatch', `color:${c.ok ? '#1a7f37' : '#cf222e'};font-weight:bold`)}</tr>`,
    )
    .join('');
  return `<table class="shape-checks"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Shows the checks: an HTML table (text fallback) in a notebook, the text table on stdout elsewhere. */
export function showShapeChecks(checks: ShapeCheck[]): void {
  const text = shapeChecksText(checks);
  if (!displayBundle({ 'text/html': shapeChecksHtml(checks), 'text/plain': text })) console.log(text);
}

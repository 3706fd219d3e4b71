/**
 * The module summary (src/nn/summary.ts) on a small net, fast enough for mutation testing: the
 * rows' numbers counted by hand, the text and HTML tables character for character, the unbuilt
 * and shape-less cases, HTML escaping and the K / M / G thresholds. (The seed ResNet's summary is
 * checked in test/display/rich_display.test.ts and He et al.'s Table 1 in table1.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { Module, Sequential } from '../../src/nn/module';
import { BatchNorm, Conv2d, Dense, ReLU } from '../../src/nn/layers';
import { formatCount, summarize, summaryHtml, summaryText } from '../../src/nn/summary';

const smallNet = () => new Sequential(new Conv2d(40, { kernelSize: 3, padding: 1 }), new ReLU(), new Dense(3));

const td = (v: string, align: 'left' | 'right') =>
  `<td style="font-family:monospace;padding:2px 10px;text-align:${align}">${v}</td>`;

describe('module summary (small net)', () => {
  it('formatCount: plain below 1000, then K, M, G with two decimals, switching at exactly 1e3, 1e6, 1e9', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1.00 K');
    expect(formatCount(122_880)).toBe('122.88 K');
    expect(formatCount(999_999)).toBe('1000.00 K');
    expect(formatCount(1e6)).toBe('1.00 M');
    expect(formatCount(1_234_567)).toBe('1.23 M');
    expect(formatCount(1e9 - 1)).toBe('1000.00 M');
    expect(formatCount(1e9)).toBe('1.00 G');
    expect(formatCount(4_089_184_256)).toBe('4.09 G');
  });

  it('an unbuilt net: its children by name and kind, no numbers; text and HTML say how to build it', () => {
    const net = smallNet();
    const s = summarize(net);
    expect(s).toEqual({
      kind: 'Sequential',
      built: false,
      rows: [
        { name: '0', kind: 'Conv2d', parameters: 0, multiplyAdds: 0 },
        { name: '1', kind: 'ReLU', parameters: 0, multiplyAdds: 0 },
        { name: '2', kind: 'Dense', parameters: 0, multiplyAdds: 0 },
      ],
      parameters: 0,
      multiplyAdds: 0,
    });
    const text =
      'Sequential (not built yet: its parameters are created from its first input; call .build(inputShape))\n' +
      '  0: Conv2d\n  1: ReLU\n  2: Dense';
    expect(summaryText(s)).toBe(text);
    expect(summaryHtml(s)).toBe(`<pre>${text}</pre>`);
  });

  it('a built net: shapes, parameters and multiply-adds per row counted by hand, the totals their sums', () => {
    const net = smallNet().build([32, 32, 3]);
    const s = summarize(net);
    // conv 3x3, 3 -> 40 channels, 'same' size: 3*3*3*40 weights + 40 biases; each of the 32*32*40
    // outputs sums 3*3*3 products. Dense: 32*32*40 = 40960 inputs to 3 units, plus 3 biases.
    const conv = { params: 3 * 3 * 3 * 40 + 40, macs: 32 * 32 * 40 * 27 };
    const dense = { params: 40960 * 3 + 3, macs: 40960 * 3 };
    expect([conv, dense]).toEqual([
      { params: 1120, macs: 1_105_920 },
      { params: 122_883, macs: 122_880 },
    ]);
    expect(s).toEqual({
      kind: 'Sequential',
      built: true,
      inputShape: [32, 32, 3],
      outputShape: [3],
      rows: [
        { name: '0', kind: 'Conv2d', outputShape: [32, 32, 40], parameters: conv.params, multiplyAdds: conv.macs },
        { name: '1', kind: 'ReLU', outputShape: [32, 32, 40], parameters: 0, multiplyAdds: 0 },
        { name: '2', kind: 'Dense', outputShape: [3], parameters: dense.params, multiplyAdds: dense.macs },
      ],
      parameters: conv.params + dense.params,
      multiplyAdds: conv.macs + dense.macs,
    });
    expect(summaryText(s)).toBe(
      [
        'Sequential: input (32, 32, 3) -> output (3)',
        'block  kind    output (NHWC)  seed (NCHW)   parameters  mult-adds',
        '0      Conv2d  (32, 32, 40)   (40, 32, 32)       1,120     1.11 M',
        '1      ReLU    (32, 32, 40)   (40, 32, 32)           0          0',
        '2      Dense   (3)            (3)              122,883   122.88 K',
        'total parameters: 124,003, multiply-adds per example: 1.23 M',
      ].join('\n'),
    );
    const row = (cells: string[]) => `<tr>${cells.map((c, j) => td(c, j >= 4 ? 'right' : 'left')).join('')}</tr>`;
    const th = (h: string) => `<th style="padding:2px 10px">${h}</th>`;
    expect(summaryHtml(s)).toBe(
      '<table class="module-summary"><caption style="text-align:left">Sequential: input (32, 32, 3) &rarr; output (3)</caption>' +
        `<thead><tr>${['block', 'kind', 'output (tfjs, NHWC)', 'seed (MXNet, NCHW)', 'parameters', 'mult-adds'].map(th).join('')}</tr></thead>` +
        '<tbody>' +
        row(['0', 'Conv2d', '(32, 32, 40)', '(40, 32, 32)', '1,120', '1.11 M']) +
        row(['1', 'ReLU', '(32, 32, 40)', '(40, 32, 32)', '0', '0']) +
        row(['2', 'Dense', '(3)', '(3)', '122,883', '122.88 K']) +
        '</tbody>' +
        `<tfoot><tr><td colspan="4" style="padding:2px 10px">total</td>${td('124,003', 'right')}${td('1.23 M', 'right')}</tr></tfoot></table>`,
    );
    net.dispose();
  });

  it("summarizing runs the net in inference mode: batch norm's running averages stay as they were", () => {
    const net = new Sequential(new Conv2d(3, { kernelSize: 1 }), new BatchNorm()).build([4, 4, 2]);
    const stats = () =>
      net
        .namedVariables()
        .filter(([n]) => n.includes('running'))
        .map(([n, v]) => [n, Array.from(v.dataSync())]);
    const before = stats();
    expect(before).toEqual([
      ['1.running_mean', [0, 0, 0]],
      ['1.running_var', [1, 1, 1]],
    ]);
    expect(summarize(net).rows[1]).toEqual({
      name: '1',
      kind: 'BatchNorm',
      outputShape: [4, 4, 3],
      parameters: 6,
      multiplyAdds: 0,
    });
    expect(stats()).toEqual(before);
    net.dispose();
  });

  it('a container built without ever running (children without variables): no shapes, no multiply-adds', () => {
    const s = summarize(new Sequential(new ReLU()));
    expect(s).toEqual({
      kind: 'Sequential',
      built: true,
      inputShape: undefined,
      outputShape: undefined,
      rows: [{ name: '0', kind: 'ReLU', parameters: 0, multiplyAdds: 0 }],
      parameters: 0,
      multiplyAdds: 0,
    });
    expect(summaryText(s).split('\n')).toEqual([
      'Sequential: input  -> output ',
      'block  kind  output (NHWC)  seed (NCHW)  parameters  mult-adds',
      '0      ReLU                                       0          0',
      'total parameters: 0, multiply-adds per example: 0',
    ]);
  });

  it('a child the forward pass never reaches counts 0 parameters; names with <, > and & are escaped in HTML', () => {
    // A computed key gives the class a name no identifier could have.
    const Odd = {
      ['Net<&>']: class extends Module {
        protected readonly createsVariables = false;
        readonly used = this.addModule('a<b>&c', new Dense(2));
        readonly unused = this.addModule('spare', new Dense(5));
        forward(x: tf.Tensor): tf.Tensor {
          return this.used.apply(x);
        }
      },
    }['Net<&>'];
    const net = new Odd().build([4]);
    expect(net.unused.built).toBe(false);
    const s = summarize(net);
    expect(s.kind).toBe('Net<&>');
    expect(s.rows).toEqual([
      { name: 'a<b>&c', kind: 'Dense', outputShape: [2], parameters: 4 * 2 + 2, multiplyAdds: 8 },
      { name: 'spare', kind: 'Dense', outputShape: undefined, parameters: 0, multiplyAdds: 0 },
    ]);
    const html = summaryHtml(s);
    expect(html).toContain('<caption style="text-align:left">Net&lt;&amp;&gt;: input (4) &rarr; output (2)</caption>');
    expect(html).toContain(`<tr>${td('a&lt;b&gt;&amp;c', 'left')}${td('Dense', 'left')}${td('(2)', 'left')}`);
    expect(html).not.toContain('a<b>');
    const unbuilt = summaryHtml(summarize(new Odd()));
    expect(unbuilt).toMatch(
      /^<pre>Net&lt;&amp;&gt; \(not built yet: .*\n {2}a&lt;b&gt;&amp;c: Dense\n {2}spare: Dense<\/pre>$/s,
    );
    net.used.dispose();
  });
});

/** table(): records as an HTML table (escaped, numbers right-aligned) with an aligned-text fallback. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { display, setDisplayWriter, showTable, table } from '../../src/index';
import type { DisplayContent } from '../../src/display/display';

afterEach(() => setDisplayWriter(undefined));

const rows = [
  { network: 'plain-20', 'test acc': 0.8416, steps: 300 },
  { network: 'residual-<56>', 'test acc': 0.8739, steps: 300 },
];

describe('table', () => {
  it('HTML: one header row, one row per record, values escaped, numeric columns right-aligned', () => {
    const html = table(rows, { title: 'after 300 steps' }).html();
    expect(html.match(/<tr>/g)).toHaveLength(3);
    expect(html).toContain('<caption>after 300 steps</caption>');
    expect(html).toContain('<td style="text-align:left">residual-&lt;56&gt;</td>');
    expect(html).toContain('<td style="text-align:right">0.8739</td>');
    expect(html).toContain('<th style="text-align:right">test acc</th>');
  });

  it('text: aligned columns under a dashed rule, no box-drawing characters', () => {
    expect(table(rows).text()).toBe(
      [
        'network        test acc  steps',
        '-------------  --------  -----',
        'plain-20       0.8416    300',
        'residual-<56>  0.8739    300',
      ].join('\n'),
    );
    expect(table(rows).text()).not.toMatch(/[│┌─┐└┘]/);
  });

  it('columns: missing values are empty cells; an explicit order is kept', () => {
    const t = table([{ a: 1 }, { b: 'x' }], { columns: ['b', 'a'] });
    expect(t.text().split('\n')).toEqual(['b  a', '-  -', '   1', 'x']);
  });

  it('in a notebook shows text/html with the text fallback; elsewhere prints the text', async () => {
    const shown: DisplayContent[] = [];
    setDisplayWriter((c) => shown.push(c));
    showTable(rows);
    expect(Object.keys(shown[0].data).sort()).toEqual(['text/html', 'text/plain']);
    await display(table(rows));
    expect(shown[1].data['text/html']).toBe(table(rows).html());
    setDisplayWriter(null);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    showTable(rows);
    expect(log).toHaveBeenCalledWith(table(rows).text());
    log.mockRestore();
  });

  it('bad input is named: a row that is not a record', () => {
    expect(() => table([{ a: 1 }, 5 as never])).toThrow(/row 1 must be a record/);
    expect(() => table('rows' as never)).toThrow(/rows must be an array of records, got string/);
  });
});

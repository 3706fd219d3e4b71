/**
 * Notebook <-> markdown round trips: every notebook in notebooks/ and the fixtures, and the edge
 * cases (empty cells, raw cells, fences inside markdown cells, longer fences, non-ASCII, Windows
 * newlines, trailing newline or not, cells that look like markers, unclosed constructs).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cell, Notebook, parseNotebook, readNotebook, stringifyNotebook } from '../../../tools/notebook-md/ipynb';
import { markdownToNotebook, notebookToMarkdown } from '../../../tools/notebook-md/markdown';
import { listNotebooks } from '../../../tools/notebook-md/mirror';

const ROOT = path.resolve(__dirname, '../../..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'notebook-md');

/** What the markdown form keeps: order, types, ids, sources, metadata (no outputs). */
function essence(nb: Notebook) {
  return {
    metadata: nb.metadata,
    nbformat: nb.nbformat,
    nbformat_minor: nb.nbformat_minor,
    cells: nb.cells.map((c) => ({ cell_type: c.cell_type, id: c.id, metadata: c.metadata, source: c.source })),
  };
}

function roundTrip(nb: Notebook): { md: string; back: Notebook } {
  const md = notebookToMarkdown(nb);
  const back = markdownToNotebook(md);
  expect(essence(back)).toEqual(essence(nb));
  // And markdown -> notebook -> markdown is the identity on what the writer produces.
  expect(notebookToMarkdown(back)).toBe(md);
  // Through the .ipynb text too.
  expect(essence(parseNotebook(stringifyNotebook(back)))).toEqual(essence(nb));
  return { md, back };
}

const code = (source: string, extra: Partial<Cell> = {}): Cell => ({
  cell_type: 'code',
  metadata: {},
  source,
  execution_count: null,
  outputs: [],
  ...extra,
});
const mdCell = (source: string, extra: Partial<Cell> = {}): Cell => ({
  cell_type: 'markdown',
  metadata: {},
  source,
  ...extra,
});
const raw = (source: string, extra: Partial<Cell> = {}): Cell => ({ cell_type: 'raw', metadata: {}, source, ...extra });
const nbOf = (cells: Cell[], metadata: Record<string, unknown> = {}): Notebook => ({
  cells,
  metadata,
  nbformat: 4,
  nbformat_minor: 5,
});

describe('notebook <-> markdown', () => {
  const notebooks = [
    ...listNotebooks(path.join(ROOT, 'notebooks')),
    ...listNotebooks(path.join(FIX, 'source')),
    ...listNotebooks(path.join(FIX, 'executed')),
  ];

  it('finds notebooks to test', () => {
    expect(notebooks.length).toBeGreaterThan(0);
  });

  it.each(notebooks.map((f) => [path.relative(ROOT, f), f]))('round-trips %s', (_rel, f) => {
    const nb = readNotebook(f);
    const { md } = roundTrip(nb);
    // Code cells are ```ts fences; every markdown/raw cell is a region (or a fallback fence).
    const codeCells = nb.cells.filter((c) => c.cell_type === 'code').length;
    expect(md.match(/^`{3,}ts\b/gm)?.length ?? 0).toBe(codeCells);
    expect(md.startsWith('---\njupyter:\n')).toBe(true);
  });

  it('writes the documented format', () => {
    const nb = nbOf(
      [
        mdCell('# Title\n\nSome $x^2$ math.', { id: 'c1' }),
        code('const a = 1;\nconsole.log(a);', { id: 'c2', metadata: { tags: ['setup'] } }),
        raw('raw text', { id: 'c3' }),
      ],
      { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    );
    expect(notebookToMarkdown(nb)).toBe(
      [
        '---',
        'jupyter:',
        '  kernelspec:',
        '    name: tslab',
        '    display_name: TypeScript',
        '    language: typescript',
        '  nbformat: 4',
        '  nbformat_minor: 5',
        '---',
        '',
        '<!-- #region id=c1 -->',
        '# Title',
        '',
        'Some $x^2$ math.',
        '<!-- #endregion -->',
        '',
        '```ts id=c2 {"tags":["setup"]}',
        'const a = 1;',
        'console.log(a);',
        '```',
        '',
        '<!-- #raw id=c3 -->',
        'raw text',
        '<!-- #endraw -->',
        '',
      ].join('\n'),
    );
  });

  const edge: [string, Cell[]][] = [
    ['empty cells', [mdCell(''), code(''), raw(''), code('\n'), mdCell('\n\n')]],
    ['no cells', []],
    ['raw cells', [raw('%%raw\nstuff'), raw('.. rst:: directive\n\n   body\n'), raw('<b>html</b>')]],
    [
      'code fences inside markdown cells',
      [
        mdCell('Text\n\n```ts\nconst x = 1;\n```\n\nmore'),
        mdCell('```python\nprint(1)\n```'),
        mdCell('~~~\ntilde\n~~~'),
      ],
    ],
    [
      'unclosed constructs in markdown cells',
      [
        mdCell('```\nnever closed'),
        mdCell('<!-- an open comment'),
        mdCell('<div>\nopen html block'),
        mdCell('<pre>\nopen pre'),
        code('after()'),
      ],
    ],
    [
      'longer fences',
      [code('a\n```\nb'), code('````\n`````\n'), code('x = `template ${y}`;'), mdCell('`````md\n```\n`````')],
    ],
    ['non-ASCII text', [mdCell('Größe — 形状 — λ → ∞ 🚀'), code('const π = Math.PI; // ≈ 3.14 ✓'), raw('Ünïcödé')]],
    [
      'Windows newlines',
      [mdCell('line one\r\nline two\r\n'), code('a();\r\nb();\r\n'), raw('x\r\ny'), code('c();\r\n\r\n')],
    ],
    [
      'trailing newline or not',
      [
        mdCell('no newline'),
        mdCell('one newline\n'),
        mdCell('two newlines\n\n'),
        code('x'),
        code('x\n'),
        code('x\n\n'),
        raw('r'),
        raw('r\n'),
      ],
    ],
    [
      'leading blank lines and indentation',
      [
        mdCell('\n\nstarts blank'),
        code('\n  indented()'),
        mdCell('    indented code block'),
        mdCell('> quote\n- list'),
      ],
    ],
    [
      'cells that look like markers',
      [
        mdCell('<!-- #endregion -->'),
        mdCell('<!-- #region -->\ninner\n<!-- #endregion -->'),
        mdCell('<!-- ##region -->\n<!-- ###endraw -->'),
        raw('<!-- #endraw -->'),
        code('// <!-- #endregion -->\n```'),
        mdCell('```ts\nlooks like a code cell\n```'),
        mdCell('---\njupyter:\n  x: 1\n---'),
        mdCell('```md-cell\nfallback look-alike\n```'),
      ],
    ],
    [
      'metadata and ids',
      [
        mdCell('m', { id: 'abc-1_2', metadata: { tags: ['a', 'b'], slideshow: { slide_type: 'slide' } } }),
        code('c', {
          id: 'x',
          metadata: {
            'odd key': 'with `backticks` and --> arrows and "quotes"',
            n: 1.5,
            nested: { deep: [null, true] },
          },
        }),
        raw('r', { id: 'r1', metadata: { format: 'text/x-rst' } }),
      ],
    ],
  ];

  it.each(edge)('edge case: %s', (_name, cells) => {
    roundTrip(
      nbOf(cells, {
        kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' },
        'non ascii': 'é',
      }),
    );
  });

  it('notebook metadata of any JSON shape survives the YAML front matter', () => {
    roundTrip(
      nbOf([mdCell('x')], {
        long: 'a long string '.repeat(20),
        multiline: 'line 1\nline 2\n',
        numbers: [0, -1.5, 1e21, 3],
        strings: ['true', 'null', '1.0', '', ' padded ', '#hash', '- dash', 'ü'],
        nested: { empty: {}, list: [], nil: null, yes: true },
        'key: with colon': 'v',
      }),
    );
  });

  it('keeps every cell in order when all edge cases share one notebook', () => {
    roundTrip(nbOf(edge.flatMap(([, cells]) => cells)));
  });

  it('reads hand-written markdown: loose text becomes markdown cells', () => {
    const nb = markdownToNotebook(
      '# Hi\n\nText.\n\n```ts\nlet a = 1;\n```\n\nMore *text*.\n\n```python\nnot a cell\n```\n',
    );
    expect(nb.cells.map((c) => [c.cell_type, c.source])).toEqual([
      ['markdown', '# Hi\n\nText.'],
      ['code', 'let a = 1;'],
      ['markdown', 'More *text*.\n\n```python\nnot a cell\n```'],
    ]);
    expect(nb.nbformat).toBe(4);
  });

  it('reports broken markdown with a line number', () => {
    expect(() =>
      markdownToNotebook('---\njupyter: {}\n---\n\n<!-- #region -->\nnever ends\n', { name: 'x.md' }),
    ).toThrow(/x\.md:5: .*never closed/);
    expect(() => markdownToNotebook('```ts {not json}\n```\n', { name: 'y.md' })).toThrow(
      /y\.md:1: cell metadata is not JSON/,
    );
  });

  it('writes .ipynb as Jupyter does (sorted keys, one-space indent, lists of lines)', () => {
    const text = stringifyNotebook(nbOf([code('a\nb', { id: 'i' })], { b: 1, a: 2 }));
    expect(text).toBe(fs.readFileSync(path.join(FIX, 'expected-layout.ipynb'), 'utf8'));
  });
});

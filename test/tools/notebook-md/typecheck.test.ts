/**
 * nb:typecheck: every notebook's code cells type-check against src/ with tslab's semantics; a
 * deliberately broken notebook reports notebook, cell and line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cell, stringifyNotebook } from '../../../tools/notebook-md/ipynb';
import { listNotebooks } from '../../../tools/notebook-md/mirror';
import { formatTypeErrors, typecheckNotebooks } from '../../../tools/notebook-md/typecheck';

const ROOT = path.resolve(__dirname, '../../..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'notebook-md');
const TMP = path.join(ROOT, 'build', 'test-notebook-md', 'typecheck');
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

const code = (source: string): Cell => ({
  cell_type: 'code',
  metadata: {},
  source,
  execution_count: null,
  outputs: [],
});

describe('nb:typecheck', () => {
  it('the chapter notebooks and the fixtures type-check', () => {
    const files = [...listNotebooks(path.join(ROOT, 'notebooks')), ...listNotebooks(path.join(FIX, 'source'))];
    expect(files.length).toBeGreaterThanOrEqual(3);
    const errors = typecheckNotebooks(files, { root: ROOT });
    expect(formatTypeErrors(errors, ROOT)).toBe('');
  });

  it('reports notebook, cell and line of each error; tslab semantics across cells', () => {
    fs.mkdirSync(TMP, { recursive: true });
    const semantics = path.join(TMP, 'semantics.ipynb');
    fs.writeFileSync(
      semantics,
      stringifyNotebook({
        cells: [
          code(
            "import { tf } from 'resnet-ts';\nimport * as tslab from 'tslab';\nconst t = tf.zeros([2]);\nawait tf.ready();",
          ),
          { cell_type: 'markdown', metadata: {}, source: 'prose' },
          code(
            "import { tf } from 'resnet-ts';\nconst t = tf.ones([3]); // declared again in a later cell: fine\ntslab.display.text(String(t.shape));",
          ),
          code('let twice = 1;\nlet twice = 2;'),
          code("import { NoSuchThing } from 'resnet-ts';\nconsole.log(NoSuchThing, undefinedName);"),
        ],
        metadata: {},
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    const errors = typecheckNotebooks([path.join(FIX, 'broken', 'type-error.ipynb'), semantics], { root: ROOT });
    const text = formatTypeErrors(errors, ROOT);
    expect(text).toContain(
      "test/fixtures/notebook-md/broken/type-error.ipynb: cell 4 (code cell 2, id t3), line 2, col 21: TS2345: Argument of type 'string' is not assignable to parameter of type 'Tensor<Rank>'.",
    );
    expect(text).toContain(
      "test/fixtures/notebook-md/broken/type-error.ipynb: cell 5 (code cell 3, id t4), line 2, col 7: TS2322: Type 'number' is not assignable to type 'string'.",
    );
    const sem = errors.filter((e) => e.notebook === semantics).map((e) => `${e.cell}:${e.line}:${e.code}`);
    // Same cell redeclaration is an error (both lines); NoSuchThing and undefinedName (did you mean...) are errors; nothing else.
    expect(sem.sort()).toEqual(['4:1:2451', '4:2:2451', '5:1:2305', '5:2:2552'].sort());
  });
});

/**
 * Working copies of the course notebooks for the front-end tests: a Jupyter front end saves outputs
 * into the files it runs, and the committed notebooks must stay output-free. Adds
 * kernel-features.ipynb, a scratch notebook for what the kernel itself shows (a value as Out[2],
 * an error's traceback from cell 3) and widgets.ipynb (a slider driving an Output, a training cell
 * with a Stop button), copies notebooks/figures/ beside them, and links `resnet-ts`
 * so the cells can import it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensurePackageLink } from '../../tools/notebook-runner/runner';

const ROOT = path.resolve(__dirname, '../..');

export function prepareNotebookCopies(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'))) {
    fs.copyFileSync(path.join(ROOT, 'notebooks', f), path.join(dir, f));
  }
  // The figures the notebooks' prose shows, at the same relative path.
  fs.cpSync(path.join(ROOT, 'notebooks', 'figures'), path.join(dir, 'figures'), { recursive: true });
  const code = (source: string) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
  fs.writeFileSync(
    path.join(dir, 'kernel-features.ipynb'),
    JSON.stringify({
      cells: [
        code("import { ResNet } from 'resnet-ts';"),
        code('const net = new ResNet({ widths: [8, 16, 32, 64], depths: [1, 1, 1, 1] }).build([96, 96, 1]);\nnet'),
        code("function failing(): never {\n  throw new RangeError('shown in red');\n}\nfailing();"),
      ],
      metadata: { kernelspec: { name: 'resnet-ts', display_name: 'TypeScript (resnet-ts)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  // widgets.ipynb: an interact slider over an Output (cell 2), a training cell with Stop (cell 3).
  fs.writeFileSync(
    path.join(dir, 'widgets.ipynb'),
    JSON.stringify({
      cells: [
        code(
          "import { widgets, interact, display, ResNet, loadDataFashionMnist, trainingRecipe, recipeDataOptions, train } from 'resnet-ts';",
        ),
        code(
          'const ui = interact(({ depth }) => {\n  console.log(`depth is ${depth}`);\n}, { depth: [0, 40] });\nawait ui.ready;\nui',
        ),
        code(
          [
            "const r = trainingRecipe('tiny');",
            'const data = await loadDataFashionMnist({ ...recipeDataOptions(r), trainLimit: 256 });',
            'const tnet = new ResNet(r.model);',
            'const controls = new widgets.TrainingControls({ learningRate: 0.05 });',
            'display(controls);',
            "const result = await train({ net: tnet, trainData: data.trainIter, testData: data.testIter, epochs: 1000, progress: 'none', steering: controls, log: () => {} });",
            'console.log(`stopped: ${result.interrupted}, steps: ${result.steps}, epochs: ${result.history.length}`);',
            'result',
          ].join('\n'),
        ),
      ],
      metadata: { kernelspec: { name: 'resnet-ts', display_name: 'TypeScript (resnet-ts)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  ensurePackageLink(dir, ROOT);
}

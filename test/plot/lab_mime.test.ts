/**
 * Every figure bundle the library sends carries a Vega-Lite MIME type that the chosen JupyterLab
 * (the 3.6 build in lab-app/) draws with its own renderer, plus a static SVG fallback for front ends
 * without one, and asks that renderer for SVG. The lab's MIME types come from the build's
 * manifest (lab-app/build/resnet-ts-lab.json, written from @jupyterlab/vega5-extension's constants),
 * so moving to another JupyterLab re-checks this test against what that one accepts.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DisplayContent, MimeBundle } from '../../src/display/display';
import { LiveDisplay, setDisplayWriter } from '../../src/display/display';
import { showVegaLite, showVegaLiteLive, vegaLiteBundle } from '../../src/plot/vega_bundle';
import { TrainingMonitor } from '../../src/plot/monitor';
import { imageGridSpec, learningRateSpec, trainingCurvesSpec } from '../../src/plot/specs';
import { LAB_DIR, readManifest, vegaMimeTypesOf } from '../../tools/lab/lab';

/** The lab's Vega MIME types: from the build manifest, else from its installed packages. */
function labVegaMimeTypes(): string[] | null {
  const m = readManifest();
  if (m) return m.vegaMimeTypes;
  if (fs.existsSync(path.join(LAB_DIR, 'node_modules', '@jupyterlab', 'vega5-extension'))) return vegaMimeTypesOf();
  return null;
}

let labTypes: string[] = [];
beforeAll(() => {
  const types = labVegaMimeTypes();
  if (!types) {
    // Not built (`npm run lab:build`); CI's setup always builds it.
    if (process.env.CI) throw new Error('lab-app/ is not built: run `npm run lab:build`');
    console.warn(
      '\n*** lab-app/ is not built: checking against JupyterLab 3.6 vega5-extension types as recorded ***\n',
    );
  }
  labTypes = types ?? [
    'application/vnd.vega.v5+json',
    'application/vnd.vegalite.v3+json',
    'application/vnd.vegalite.v4+json',
  ];
});
afterEach(() => setDisplayWriter(undefined));

const history = [
  { epoch: 0, loss: 0.9, trainAcc: 0.7, testAcc: 0.8, seconds: 10, imagesPerSecond: 100 },
  { epoch: 1, loss: 0.5, trainAcc: 0.85, testAcc: 0.86, seconds: 10, imagesPerSecond: 100 },
];
const px = new Uint8Array(28 * 28).map((_, i) => i % 256);

/** Collects what the library sends to the notebook while `f` runs. */
async function sentBy(f: () => unknown): Promise<DisplayContent[]> {
  const sent: DisplayContent[] = [];
  setDisplayWriter((c) => sent.push(c));
  await f();
  return sent;
}

function checkFigure(c: DisplayContent | { data: MimeBundle; metadata?: Record<string, unknown> }): void {
  const keys = Object.keys(c.data);
  const labKey = keys.find((k) => labTypes.includes(k));
  expect(labKey, `no MIME type JupyterLab renders among ${keys.join(', ')}`).toBeDefined();
  expect(String(c.data['image/svg+xml']), 'static SVG fallback').toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  expect(typeof c.data['text/plain']).toBe('string');
  if (c.metadata) expect(c.metadata[labKey!]).toEqual({ embed_options: { renderer: 'svg' } });
}

describe('figure bundles against the lab build', () => {
  it('the lab renders Vega-Lite through one of the v3/v4 types (not v5)', () => {
    expect(labTypes.some((t) => t.includes('vegalite'))).toBe(true);
  });

  it('showVegaLite: training curves, learning rate, image grid', async () => {
    const sent = await sentBy(async () => {
      await showVegaLite(trainingCurvesSpec(history, { epochs: 2 }));
      await showVegaLite(learningRateSpec([0.1, 0.2, 0.05], { stepsPerEpoch: 2 }));
      await showVegaLite(imageGridSpec([{ pixels: px, height: 28, width: 28, label: 'coat' }], { columns: 1 }));
    });
    expect(sent).toHaveLength(3);
    for (const c of sent) checkFigure(c);
  });

  it("LiveDisplay and the TrainingMonitor's live plot (first draw and updates)", async () => {
    const sent = await sentBy(() => {
      showVegaLiteLive(new LiveDisplay(), trainingCurvesSpec(history));
      const m = new TrainingMonitor({ every: 1, epochs: 1 });
      for (let b = 1; b <= 2; b++)
        m.onBatch({ epoch: 0, batch: b, numBatches: 2, loss: 1 / b, batchSize: 2, correct: 1, imagesPerSecond: 1 });
    });
    expect(sent).toHaveLength(3);
    for (const c of sent) checkFigure(c);
  });

  it('a bundle built without a notebook (vegaLiteBundle, a cell value) carries the same types', () => {
    checkFigure({ data: vegaLiteBundle(trainingCurvesSpec(history)) });
  });
});

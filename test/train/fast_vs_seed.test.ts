/**
 * The `fast` recipe earns its name: on the same fixed subset of the real Fashion-MNIST and no more
 * wall time, it ends with a clearly higher test accuracy than the chapter's `seed` recipe
 * (faithful to the chapter, not tuned). Each runs its own model, input size, batch, optimizer and
 * schedule, as `npm start -- --recipe NAME` would, on the first 6144 training images (no validation
 * split), evaluated on the first 1000 test images, seed 0:
 *   seed: its one epoch (96 steps of 64 images at 96x96);
 *   fast: three epochs (144 steps of 128 images at 28x28), its one-cycle schedule laid over them.
 * The fast recipe gets less wall time, not more: its step runs several times more images per second
 * (`npm run bench -- --recipe fast` vs `npm run bench`: ~370 vs ~50 img/s on two AVX2 cores), so its
 * three epochs take well under the seed's one. Needs the native back end (the seed's 96x96 ResNet-18
 * is far too slow on tfjs's JS kernels): CI builds it; elsewhere the test is skipped with a message.
 *
 * Measured (onednn, 2 threads, AMD EPYC AVX2, 2026-11-28): seed 0.747, fast 0.884 (0.792 while the
 * fast recipe still had shifts and flips). Asserted: fast >= seed + 0.08, and each no more than a
 * few points under its measurement. (Over whole runs the gap is larger still: docs/measurements.md.)
 */
import { describe, expect, it } from 'vitest';
import '../../src/tfjs_setup';
import { tryGpu } from '../../src/backend/select';
import { loadDataFashionMnist } from '../../src/data/fashion_mnist';
import { ResNet } from '../../src/models/resnet';
import { seedInitializers } from '../../src/nn/init';
import { RecipeName, recipeDataOptions, recipeTrainOptions, trainingRecipe } from '../../src/recipe';
import { train } from '../../src/train/train';
import { addonAvailable, assertNativeSince, nativeRequired, skipReason, statsSnapshot } from '../native/_helpers';

const SEED_MEASURED = 0.747;
const FAST_MEASURED = 0.884;

async function testAccuracy(name: RecipeName, epochs: number): Promise<number> {
  const r = trainingRecipe(name);
  r.trainLimit = 6144;
  r.testLimit = 1000;
  r.validation = 0;
  r.epochs = epochs;
  const data = await loadDataFashionMnist({ ...recipeDataOptions(r), log: () => {} });
  seedInitializers(r.seed);
  const net = new ResNet(r.model).build([r.resize, r.resize, 1]);
  seedInitializers(undefined);
  const { history } = await train({
    ...recipeTrainOptions(r, data.trainIter.numBatches),
    trainData: data.trainIter,
    testData: data.testIter,
    net,
    log: () => {},
    progress: 'none',
  });
  net.dispose();
  return history[history.length - 1].testAcc;
}

describe.skipIf(!addonAvailable && !nativeRequired)(`fast vs seed recipe ${skipReason}`, () => {
  it('on the same subset and in less time, fast beats seed by >= 0.08 test accuracy', async () => {
    expect(addonAvailable, `native addon unavailable with CI set: ${skipReason}`).toBe(true);
    expect((await tryGpu({ prefer: 'onednn', log: () => {} })).backend).toBe('onednn');
    const before = statsSnapshot();
    const seed = await testAccuracy('seed', 1);
    const fast = await testAccuracy('fast', 3);
    assertNativeSince(before, ['FusedConv2D', 'Conv2DBackpropFilter', 'AvgPool', 'AvgPoolGrad', 'SgdUpdate']);
    console.log(
      `fast vs seed recipe on 6144 images, seed 1 epoch, fast 3: seed ${seed.toFixed(3)}, fast ${fast.toFixed(3)}`,
    );
    expect(fast).toBeGreaterThanOrEqual(seed + 0.08);
    // Summation order (threads, ISA) moves these by a point or two; a larger change is a regression.
    expect(seed).toBeGreaterThan(SEED_MEASURED - 0.06);
    expect(fast).toBeGreaterThan(FAST_MEASURED - 0.04);
  }, 600_000);
});

/**
 * The model really learns: a small ResNet trained on a fixed subset of the real Fashion-MNIST
 * must beat chance (0.10) by far on held-out test images. Runs on whatever back end tryGpu()
 * picks (the native oneDNN one in CI, tfjs's JS kernels where the addon is not built).
 *
 * Subset: the first 6144 training images (2 epochs, batch 64, SGD lr 0.05, seed 0, 28x28),
 * evaluated on the first 1000 test images. Threshold: test accuracy >= 0.70.
 */
import { describe, expect, it } from 'vitest';
import '../../src/tfjs_setup';
import { tryGpu } from '../../src/backend/select';
import { loadDataFashionMnist } from '../../src/data/fashion_mnist';
import { ResNet } from '../../src/models/resnet';
import { seedInitializers } from '../../src/nn/init';
import { train } from '../../src/train/train';

describe('learning on real Fashion-MNIST', () => {
  it('a small ResNet reaches >= 0.70 test accuracy on a fixed subset', async () => {
    const device = await tryGpu({ log: () => {} });
    // CI builds the native back end; this test must exercise it there, not fall back to JS.
    if (process.env.CI) expect(device.backend).not.toBe('cpu');
    const { trainIter, testIter } = await loadDataFashionMnist({ batchSize: 64, seed: 0, trainLimit: 6144, testLimit: 1000, log: () => {} });
    seedInitializers(0);
    const net = new ResNet({ widths: [16, 32, 32, 64], depths: [1, 1, 1, 1], headPool: 'global' });
    net.build([28, 28, 1]);
    seedInitializers(undefined);
    const lines: string[] = [];
    const { history } = await train({ trainData: trainIter, testData: testIter, net, epochs: 2, log: (l) => lines.push(l), progress: 'none', deviceDescription: device.description });
    console.log(lines.join('\n'));
    const last = history[history.length - 1];
    expect(last.testAcc).toBeGreaterThanOrEqual(0.7);
    expect(history[1].loss).toBeLessThan(history[0].loss);
    net.dispose();
  }, 1_200_000);
});

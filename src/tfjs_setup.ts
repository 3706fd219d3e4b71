/**
 * Back-end and gradient setup: tfjs-core alone registers no gradients and no back end. Every entry point of the library
 * imports this module once for those side effects (the '@tensorflow/tfjs' bundle does the same).
 */
// The @tensorflow/tfjs bundle registers all gradients (tfjs-core's CommonJS build alone has none).
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import './ops/batch_norm_train';
import './ops/add_relu';
import './ops/grouped_conv2d';

// tfjs's cpu back end prints "Hi, looks like you are running TensorFlow.js in Node.js ... install
// our node backend" on its first tensor, as a warning (red in a notebook). For this library the
// advice is wrong (tryGpu() picks the native onednn back end, and says why), so 'cpu' is
// registered again, same class and priority, with that banner already spent: whatever the order
// of imports and tryGpu(), it never prints.
// (tfjs-core creates a new instance from the factory whenever it initialises a back end, so the
// factory is what has to change.)
tf.removeBackend('cpu');
tf.registerBackend(
  'cpu',
  () => {
    const backend = new MathBackendCPU();
    (backend as unknown as { firstUse: boolean }).firstUse = false;
    return backend;
  },
  1,
);

/**
 * Back-end and gradient setup: tfjs-core alone registers no gradients and no back end. Every entry point of the library
 * imports this module once for those side effects (the '@tensorflow/tfjs' bundle does the same).
 */
// The @tensorflow/tfjs bundle registers all gradients (tfjs-core's CommonJS build alone has none).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import './ops/batch_norm_train';
import './ops/add_relu';
import './ops/grouped_conv2d';

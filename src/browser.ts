/**
 * resnet-ts in a web page: the browser entry (`import ... from 'resnet-ts/browser'`, or a
 * bundler's `browser` condition). The networks, their layers and ops, prediction, `loadModel`
 * (over http(s):// or any tf.io handler) and the plot specs: nothing here imports a Node built-in
 * or the native addon (test/io/browser_bundle.test.ts bundles it and checks). Training data
 * loaders, checkpoints, file:// and the onednn back end stay behind the Node entry (index.ts).
 *
 * The back ends are tfjs's own: `@tensorflow/tfjs` brings WebGL and cpu (and every gradient);
 * `@tensorflow/tfjs-backend-wasm` can be added by the page.
 */
import '@tensorflow/tfjs';
import './ops/batch_norm_train';
import './ops/add_relu';
import './ops/grouped_conv2d';
export * as tf from '@tensorflow/tfjs-core';
export { Module, Sequential } from './nn/module';
export { Conv2d, BatchNorm, Dense, MaxPool2d, AvgPool2d, GlobalAvgPool2d, ReLU } from './nn/layers';
export { Residual, Bottleneck, PreActResidual, makeBlock, BLOCK_KINDS } from './models/residual';
export { ResNet, resnetPreset, resnetOfDepth, STEMS, HEAD_POOLS } from './models/resnet';
export type { ResNetConfig, ResNetOptions } from './models/resnet';
export { PlainOrResidualNet } from './models/plain_vs_residual';
export { loadModel } from './io/load_model';
export { modelArtifacts, saveModel, ModelFormatError, MODEL_FORMAT } from './io/model_artifacts';
export type { SaveOptions, Quantization } from './io/model_artifacts';
export { predictTopK } from './predict';
export type { Prediction } from './predict';
export { TEXT_LABELS } from './data/labels';
export { trainingCurvesSpec, imageGridSpec, seriesChartSpec, VEGA_LITE_SCHEMA } from './plot/specs';

/** resnet-ts: the public API. Import from 'resnet-ts' in scripts and notebooks. */
import './tf';
export * as tf from '@tensorflow/tfjs-core';
export { Module, Sequential } from './nn/module';
export type { ForwardOptions } from './nn/module';
export { Conv2d, BatchNorm, Dense, MaxPool2d, AvgPool2d, GlobalAvgPool2d, ReLU } from './nn/layers';
export { xavierUniform, seedInitializers } from './nn/init';
export { batchNormTrain } from './ops/batch_norm_train';
export { Residual, Bottleneck, PreActResidual, makeBlock } from './models/residual';
export type { BlockKind } from './models/residual';
export { ResNet, SEED_RESNET, resnetPreset } from './models/resnet';
export type { ResNetConfig, ResNetOptions } from './models/resnet';

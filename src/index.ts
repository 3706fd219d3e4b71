/** resnet-ts: the public API. Import from 'resnet-ts' in scripts and notebooks. */
import './tfjs_setup';
import './plot/training_result'; // train()'s result shows its curves in a notebook
export * as tf from '@tensorflow/tfjs-core';
export { Module, Sequential } from './nn/module';
export type { ForwardOptions } from './nn/module';
export { Conv2d, BatchNorm, Dense, MaxPool2d, AvgPool2d, GlobalAvgPool2d, ReLU } from './nn/layers';
export { xavierUniform, seedInitializers } from './nn/init';
export { batchNormTrain } from './ops/batch_norm_train';
export { addRelu } from './ops/add_relu';
export { groupedConv2d, groupedConv2dBySplit } from './ops/grouped_conv2d';
export { Residual, Bottleneck, PreActResidual, makeBlock, BLOCK_KINDS, BLOCK_CLASSES } from './models/residual';
export type { BlockKind } from './models/residual';
export {
  ResNet,
  SEED_RESNET,
  resnetPreset,
  resnetOfDepth,
  resnext50,
  RESNET_TABLE1,
  STEMS,
  HEAD_POOLS,
} from './models/resnet';
export type { ResNetConfig, ResNetOptions, ResNetDepth } from './models/resnet';
export { PlainBlock, PlainOrResidualNet } from './models/plain_vs_residual';
export type { PlainOrResidualOptions } from './models/plain_vs_residual';
export { tryGpu, currentDevice, detectBf16Support } from './backend/select';
export type { Device, BackendName, TryGpuOptions } from './backend/select';
export type { Bf16Support, Precision, PrecisionRequest } from './backend/precision';
export {
  loadDataFashionMnist,
  loadFashionMnistArrays,
  DataIter,
  FashionMnistDataset,
  TEXT_LABELS,
  getTextLabels,
} from './data/fashion_mnist';
export type { LoadDataOptions, LoadDataResult } from './data/fashion_mnist';
export { ensureFashionMnist } from './data/ensure';
export { doctestLimits } from './data/doctest_limits';
export { train, trainStep, formatEpoch } from './train/train';
export type { TrainOptions, TrainResult, BatchEvent, StepResult } from './train/train';
export { requestInterrupt, InterruptWatch } from './train/interrupt';
export { summarize, summaryText, summaryHtml } from './nn/summary';
export type { ModuleSummary, SummaryRow } from './nn/summary';
export { evaluateAccuracy } from './train/evaluate';
export { gradientNorms } from './train/gradient_norms';
export type { LayerGradientNorm } from './train/gradient_norms';
export { recalibrateBatchNorm } from './train/recalibrate';
export { softmaxCrossEntropy, countCorrect } from './train/metrics';
export { saveCheckpoint, restoreCheckpoint, readCheckpoint, CheckpointError } from './train/checkpoint';
export type { EpochRecord } from './train/history';
export type { Batch, BatchSource } from './train/batches';
export {
  trainingRecipe,
  describeRecipe,
  isFastMode,
  shrinkForFastMode,
  recipeOptimizer,
  recipeSchedule,
  recipeTrainOptions,
  recipeStepOptions,
  recipeDataOptions,
  stepsPerEpoch,
  RECIPE_NAMES,
} from './recipe';
export type { TrainingRecipe, RecipeName } from './recipe';
export { secondsPerStep, trainForBudget } from './fixed_budget';
export type { BudgetRun, StepTiming, TrainForBudgetOptions } from './fixed_budget';
export { constantLr, oneCycle, scheduleValues } from './train/schedule';
export type { LearningRateSchedule, OneCycleOptions } from './train/schedule';
export { applyOptimizerStep } from './train/optimizer_step';
export {
  trainingCurvesSpec,
  historyPoints,
  imageGridSpec,
  learningRateSpec,
  seriesChartSpec,
  movingAverage,
  VEGA_LITE_SCHEMA,
} from './plot/specs';
export type {
  VegaLiteSpec,
  CurvePoint,
  GridImage,
  CurvesOptions,
  GridOptions,
  LearningRateOptions,
  SeriesPoint,
  SeriesChartOptions,
} from './plot/specs';
export { renderSvg, renderSvgAsync } from './plot/render';
export { showVegaLite, showVegaLiteLive, vegaLiteBundle, vegaLiteBundleAsync } from './plot/vega_bundle';
export {
  displayBundle,
  showHtml,
  LiveDisplay,
  inNotebook,
  setDisplayWriter,
  VEGA_LITE_MIME,
  VEGA_LITE_V4_MIME,
  VEGA_LITE_MIMES,
  displayMetadata,
  JUPYTER_DISPLAY,
  display,
  mimeBundleOf,
} from './display/display';
export type { DisplayWriter, MimeBundle } from './display/display';
export { table, showTable, Table } from './display/table';
export type { TableRow, TableCell, TableOptions } from './display/table';
export { TrainingMonitor, firstBatches } from './plot/monitor';
export type { TrainingMonitorOptions } from './plot/monitor';
export { samplePredictions } from './plot/samples';
export { encodeGrayPng } from './display/png';
export { expectShape, showShapeChecks, shapeChecksText, nchwToNhwc, nhwcToNchw, ShapeMismatchError } from './shapes';
export type { ShapeCheck } from './shapes';
export * as widgets from './widgets';
export { interact } from './widgets/interact';
export type { TrainSteering } from './train/steering';
import './io/file_handler'; // file:// for net.save() and loadModel() in Node
export { loadModel } from './io/load_model';
export type { LoadWeightsOptions } from './io/state_dict';
export { exportOnnx, onnxBytes, onnxExport } from './export/onnx';
export type { OnnxExportInfo, OnnxExportOptions } from './export/onnx';
export { modelArtifacts, saveModel, ModelFormatError, MODEL_FORMAT } from './io/model_artifacts';
export type { SaveOptions, Quantization, ModelTopology } from './io/model_artifacts';
// safetensors (PyTorch's ecosystem): net.save('file://x.safetensors') / net.loadWeights(...) use these
export { decodeSafetensors, encodeSafetensors } from './io/safetensors';
export { stateDict, safetensorsBytes, loadSafetensorsBytes } from './io/state_dict';
export { predictTopK } from './predict';
export type { Prediction } from './predict';

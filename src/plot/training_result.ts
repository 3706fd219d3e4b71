/**
 * A training result drawn as its curves: train()'s result shows loss and accuracies per epoch
 * when it is a cell's value. Loaded by the library's entry (src/index.ts); the training loop only
 * holds the hook (setTrainingCurvesDisplay), so train/ depends on no figure code.
 */
import { setTrainingCurvesDisplay } from '../train/train';
import { trainingCurvesSpec } from './specs';
import { vegaLiteBundle } from './vega_bundle';

setTrainingCurvesDisplay((history, text) => vegaLiteBundle(trainingCurvesSpec(history), text));

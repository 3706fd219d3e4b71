/**
 * A network's `save` and `loadWeights`, the format chosen by the URL's extension: `.safetensors`
 * is PyTorch's state_dict in a safetensors file (state_dict.ts), anything else tfjs's model.json
 * and weights.bin (model_artifacts.ts). Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SavableModule, SaveOptions, assignWeights, checkArtifacts, saveModel } from './model_artifacts';
import { isSafetensorsPath } from './safetensors';
import { LoadWeightsOptions, loadSafetensors, saveSafetensors } from './state_dict';

/** `net.save(url)`: safetensors for a `.safetensors` URL, tfjs's format for any other URL or IOHandler. */
export function saveNetwork(
  net: SavableModule,
  handlerOrUrl: tf.io.IOHandler | string,
  opts: SaveOptions = {},
): Promise<tf.io.SaveResult> {
  if (typeof handlerOrUrl === 'string' && isSafetensorsPath(handlerOrUrl))
    return saveSafetensors(net, handlerOrUrl, opts);
  return saveModel(net, handlerOrUrl, opts);
}

/**
 * `net.loadWeights(source)`: the weights of a `.safetensors` file (or its bytes), or of a model
 * saved by `net.save()` in tfjs's format, into this network (built first if it is not). Every
 * missing, unexpected or misshapen weight is named, and then nothing is assigned.
 */
export async function loadNetworkWeights(
  net: SavableModule,
  source: string | Uint8Array | ArrayBuffer,
  opts: LoadWeightsOptions = {},
): Promise<void> {
  if (typeof source !== 'string' || isSafetensorsPath(source)) return loadSafetensors(net, source, opts);
  if (opts.except?.length)
    throw new Error(`loadWeights: 'except' names PyTorch tensors, for safetensors files; '${source}' is a tfjs model`);
  const handler = /^https?:\/\//.test(source) ? tf.io.http(source) : tf.io.getLoadHandlers(source)[0];
  if (!handler?.load)
    throw new Error(
      `loadWeights: no handler for '${source}' (file://path/x.safetensors, file://path/to/model, http(s)://...)`,
    );
  const { topology, specs, data } = checkArtifacts(await handler.load(), source);
  if (!net.built) net.build(topology.inputShape);
  const weights = tf.io.decodeWeights(data, specs);
  try {
    assignWeights(net, weights, source);
  } finally {
    tf.dispose(Object.values(weights));
  }
}

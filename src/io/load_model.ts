/**
 * `loadModel(url)`: a network saved by `net.save()` rebuilt from its model.json and weights, from
 * `file://` in Node (after importing 'resnet-ts') and from `http(s)://` in a browser or in Node
 * (tfjs's HTTP handler, over fetch). Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ResNet } from '../models/resnet';
import { PlainOrResidualNet } from '../models/plain_vs_residual';
import type { Module } from '../nn/module';
import { ModelFormatError, assignWeights, checkArtifacts } from './model_artifacts';

/** The classes a model.json may name, each rebuilt from its config (which it checks). */
const ARCHITECTURES: Record<string, (config: Record<string, unknown>, source: string) => Module> = {
  ResNet: (config, source) => ResNet.fromConfig(config, source),
  PlainOrResidualNet: (config, source) => PlainOrResidualNet.fromConfig(config, source),
};

function loadHandlerFor(url: string): tf.io.IOHandler {
  if (/^https?:\/\//.test(url)) return tf.io.http(url);
  const handlers = tf.io.getLoadHandlers(url);
  if (handlers.length === 0)
    throw new Error(`loadModel: no handler for '${url}' (file://path/to/model in Node, http(s)://.../model.json)`);
  return handlers[0];
}

/** Loads a saved network (its weights bit for bit in fp32, dequantized when saved quantized). */
export async function loadModel(handlerOrUrl: tf.io.IOHandler | string): Promise<Module> {
  const source = typeof handlerOrUrl === 'string' ? handlerOrUrl : 'the IOHandler';
  const handler = typeof handlerOrUrl === 'string' ? loadHandlerFor(handlerOrUrl) : handlerOrUrl;
  if (!handler.load) throw new Error('loadModel: this IOHandler cannot load');
  const { topology, specs, data } = checkArtifacts(await handler.load(), source);
  const make = ARCHITECTURES[topology.className];
  if (!make)
    throw new ModelFormatError(
      `${source}: unknown architecture '${topology.className}' (this library builds ${Object.keys(ARCHITECTURES).join(', ')})`,
    );
  const net = make(topology.config, source).build(topology.inputShape);
  const weights = tf.io.decodeWeights(data, specs);
  try {
    assignWeights(net, weights, source);
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(weights));
  }
  return net;
}

/**
 * `file://` for tf.io in Node: `net.save('file://runs/fast/model')` writes
 * `runs/fast/model/model.json` and `weights.bin`; `loadModel('file://runs/fast/model')` (or the
 * model.json's own path) reads them. The layout is tfjs's: model.json names its shards in
 * `weightsManifest`, so the same folder can be served over HTTP to a browser.
 *
 * Writes land atomically (a temporary file renamed into place, shards before model.json), so a
 * crash never leaves a model.json pointing at a half-written shard. Errors name the file.
 * `file://x.safetensors` (net.save / net.loadWeights, state_dict.ts) is read and written here too,
 * atomically as well.
 * Node only: src/index.ts registers it; the browser entry does not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MODEL_FORMAT, ModelFormatError, WEIGHTS_FILE } from './model_artifacts';
import { registerWeightFiles } from './state_dict';

const PREFIX = 'file://';
export const MODEL_JSON = 'model.json';

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** The folder of a file:// URL (the model.json's folder when the URL names the file itself). */
function folderOf(url: string): string {
  const p = url.slice(PREFIX.length);
  return p.endsWith('.json') ? path.dirname(p) : p;
}

export class FileModelHandler implements tf.io.IOHandler {
  readonly dir: string;
  constructor(url: string) {
    this.dir = path.resolve(folderOf(url));
  }

  async save(a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    fs.mkdirSync(this.dir, { recursive: true });
    const data = new Uint8Array(a.weightData as ArrayBuffer);
    writeAtomic(path.join(this.dir, WEIGHTS_FILE), data);
    const modelJson = {
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy ?? null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs ?? [] }],
    };
    const json = JSON.stringify(modelJson, null, 1);
    writeAtomic(path.join(this.dir, MODEL_JSON), json);
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: JSON.stringify(a.modelTopology).length,
        weightSpecsBytes: JSON.stringify(a.weightSpecs).length,
        weightDataBytes: data.byteLength,
      },
    };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const file = path.join(this.dir, MODEL_JSON);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ModelFormatError(
        `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    let json: {
      format?: string;
      modelTopology?: unknown;
      weightsManifest?: tf.io.WeightsManifestConfig;
      generatedBy?: string;
    };
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ModelFormatError(`${file}: not JSON (${(e as Error).message})`);
    }
    if (json.format !== MODEL_FORMAT)
      throw new ModelFormatError(`${file}: format ${JSON.stringify(json.format)}, expected '${MODEL_FORMAT}'`);
    if (!Array.isArray(json.weightsManifest))
      throw new ModelFormatError(`${file}: no weightsManifest (a list of { paths, weights })`);
    const specs: tf.io.WeightsManifestEntry[] = [];
    const parts: Uint8Array[] = [];
    for (const group of json.weightsManifest) {
      if (!Array.isArray(group.paths) || !Array.isArray(group.weights))
        throw new ModelFormatError(`${file}: each weightsManifest entry needs paths and weights`);
      specs.push(...group.weights);
      for (const p of group.paths) {
        const shard = path.resolve(this.dir, p);
        if (path.relative(this.dir, shard).startsWith('..'))
          throw new ModelFormatError(`${file}: shard path '${p}' leaves the model's folder`);
        try {
          parts.push(fs.readFileSync(shard));
        } catch (e) {
          throw new ModelFormatError(
            `${file}: weight shard ${shard} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          );
        }
      }
    }
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    return {
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      format: json.format,
      generatedBy: json.generatedBy,
      weightSpecs: specs,
      weightData: data.buffer,
    };
  }
}

// tfjs's IORouter type says IOHandler, but its registry skips routers that return null.
const router = ((url: string | string[]) =>
  typeof url === 'string' && url.startsWith(PREFIX) ? new FileModelHandler(url) : null) as unknown as Parameters<
  typeof tf.io.registerSaveRouter
>[0];
tf.io.registerSaveRouter(router);
tf.io.registerLoadRouter(router);

const reason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
registerWeightFiles({
  async read(file) {
    const p = path.resolve(file);
    try {
      return new Uint8Array(await fs.promises.readFile(p));
    } catch (e) {
      throw new ModelFormatError(`${p}: cannot read it (${reason(e)})`);
    }
  },
  async write(file, bytes) {
    const p = path.resolve(file);
    const tmp = `${p}.tmp-${process.pid}`;
    try {
      await fs.promises.mkdir(path.dirname(p), { recursive: true });
      await fs.promises.writeFile(tmp, bytes);
      await fs.promises.rename(tmp, p);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw new Error(`${p}: cannot write it (${reason(e)})`, { cause: e });
    }
  },
});

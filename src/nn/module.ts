/**
 * A deliberately small module system in the spirit of Gluon's `nn.Block` / PyTorch's `nn.Module`:
 * a module owns named variables and child modules, and maps a tensor to a tensor.
 *
 * Parameters are created lazily on the first forward pass (like Gluon's deferred initialisation),
 * so a layer needs only its output width; the input width is read from the first input it sees.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../tf';

export interface ForwardOptions {
  /** Training mode: batch norm uses batch statistics and updates its running averages. */
  training?: boolean;
}

export abstract class Module {
  private readonly childModules = new Map<string, Module>();
  private readonly ownVariables = new Map<string, tf.Variable>();

  /** Maps a batch to a batch. Subclasses implement this; callers use `apply`. */
  abstract forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor;

  /** Runs the module; in inference mode unless `training` is set. */
  apply(x: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor {
    return this.forward(x, opts);
  }

  protected addModule<M extends Module>(name: string, module: M): M {
    if (this.childModules.has(name)) throw new Error(`duplicate child module name '${name}'`);
    this.childModules.set(name, module);
    return module;
  }

  /** Creates (once) a variable of this module from an initialiser. */
  protected variable(name: string, init: () => tf.Tensor, trainable = true): tf.Variable {
    let v = this.ownVariables.get(name);
    if (v == null) {
      const value = init();
      v = tf.variable(value, trainable);
      value.dispose();
      this.ownVariables.set(name, v);
    }
    return v;
  }

  children(): [string, Module][] {
    return [...this.childModules.entries()];
  }

  /** Every variable below this module, named by its path ("b2.0.conv1.weight"), in creation order. */
  namedVariables(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [name, v] of this.ownVariables) out.push([prefix + name, v]);
    for (const [name, child] of this.childModules) out.push(...child.namedVariables(`${prefix}${name}.`));
    return out;
  }

  /** Variables updated by the optimiser (not batch norm's running averages). */
  trainableVariables(): tf.Variable[] {
    return this.namedVariables().filter(([, v]) => v.trainable).map(([, v]) => v);
  }

  numParameters(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** Creates every parameter by running one zero batch of the given input shape (no batch dim). */
  build(inputShape: number[]): this {
    tf.tidy(() => { this.forward(tf.zeros([1, ...inputShape]), { training: false }); });
    return this;
  }

  dispose(): void {
    for (const [, v] of this.namedVariables()) v.dispose();
  }
}

/** Runs child modules in order, like Gluon's `nn.Sequential`. */
export class Sequential extends Module {
  private readonly layers: Module[] = [];

  constructor(...layers: Module[]) {
    super();
    for (const layer of layers) this.add(layer);
  }

  add(...layers: Module[]): this {
    for (const layer of layers) this.layers.push(this.addModule(String(this.layers.length), layer));
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  at(i: number): Module {
    return this.layers[i];
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    let out = x;
    for (const layer of this.layers) {
      const next = layer.forward(out, opts);
      if (out !== x) out.dispose();
      out = next;
    }
    return out;
  }
}

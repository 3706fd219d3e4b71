/**
 * A deliberately small module system in the spirit of Gluon's `nn.Block` / PyTorch's `nn.Module`:
 * a module owns named variables and child modules, and maps a tensor to a tensor.
 *
 * Parameters are created lazily on the first forward pass (like Gluon's deferred initialisation),
 * so a layer needs only its output width; the input width is read from the first input it sees.
 * Until then a module is not `built`: its variable lists throw (an empty list would train nothing),
 * and `build(inputShape)` / `ensureBuilt(inputShape)` run one zero batch to create them. train,
 * evaluateAccuracy, recalibrateBatchNorm and restoreCheckpoint call `ensureBuilt` themselves.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../tfjs_setup';
import { JUPYTER_DISPLAY } from '../display/jupyter_display';
import { summarize, summaryHtml, summaryText } from './summary';

export interface ForwardOptions {
  /** Training mode: batch norm uses batch statistics and updates its running averages. */
  training?: boolean;
}

export abstract class Module {
  private readonly childModules = new Map<string, Module>();
  private readonly ownVariables = new Map<string, tf.Variable>();
  /** Per-example shape of the first input this module saw (undefined: never run). */
  private firstInputShape?: number[];
  /** Shape (with batch) of the latest output: what multiplyAdds() counts for. */
  private lastOutput?: number[];
  /**
   * Whether the first forward pass may create variables (or children) of this module itself.
   * True by default, the safe answer for any subclass; layers without parameters and plain
   * containers set it false, so that they count as built when their children are.
   */
  protected readonly createsVariables: boolean = true;

  constructor() {
    // Parents call their children's forward directly (Sequential, the residual blocks), so the
    // first-run mark is put on forward itself rather than on apply.
    const forward = this.forward;
    this.forward = (x, opts) => this.noteRun(x, forward.call(this, x, opts));
  }

  /** Records a run (first input shape, latest output shape); other entry points than forward call it too. */
  protected noteRun(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    this.firstInputShape ??= x.shape.slice(1);
    this.lastOutput = y.shape;
    return y;
  }

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

  /**
   * True once every variable exists: the module has run (a forward pass, `build`, a restored
   * checkpoint), or it creates none itself and all its children are built.
   */
  get built(): boolean {
    return (
      this.firstInputShape !== undefined ||
      (!this.createsVariables && [...this.childModules.values()].every((c) => c.built))
    );
  }

  /**
   * Multiply-adds of one example through this module and its children, for the shapes of the
   * latest forward pass (the FLOPs of He et al.'s tables count multiply-adds of convolutions and
   * dense layers; batch norm, pooling and activations are not counted).
   */
  multiplyAdds(): number {
    const own = this.lastOutput ? this.ownMultiplyAdds(this.lastOutput.slice(1)) : 0;
    return own + [...this.childModules.values()].reduce((n, c) => n + c.multiplyAdds(), 0);
  }

  /** This module's own multiply-adds for one example with the given output shape (layers with weights override it). */
  protected ownMultiplyAdds(_outputShape: number[]): number {
    return 0;
  }

  /** Per-example shape (no batch dimension) of the latest output, once the module has run. */
  get lastOutputShape(): number[] | undefined {
    return this.lastOutput?.slice(1);
  }

  /** Per-example shape (no batch dimension) of the first input, once the module has run. */
  get inputShape(): number[] | undefined {
    return this.firstInputShape?.slice();
  }

  /** Every variable below this module, named by its path ("b2.0.conv1.weight"), in creation order. */
  namedVariables(prefix = ''): [string, tf.Variable][] {
    this.assertBuilt('namedVariables');
    return this.collectVariables(prefix);
  }

  private collectVariables(prefix: string): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [name, v] of this.ownVariables) out.push([prefix + name, v]);
    for (const [name, child] of this.childModules) out.push(...child.collectVariables(`${prefix}${name}.`));
    return out;
  }

  /** Variables updated by the optimiser (not batch norm's running averages). */
  trainableVariables(): tf.Variable[] {
    this.assertBuilt('trainableVariables');
    return this.collectVariables('')
      .filter(([, v]) => v.trainable)
      .map(([, v]) => v);
  }

  numParameters(): number {
    this.assertBuilt('numParameters');
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** Creates every parameter by running one zero batch of the given input shape (no batch dim). */
  build(inputShape: number[]): this {
    if (!Array.isArray(inputShape) || inputShape.some((d) => !Number.isInteger(d) || d < 1))
      throw new TypeError(
        `${this.constructor.name}.build(): inputShape must be positive integers, got ${JSON.stringify(inputShape)}`,
      );
    try {
      tf.tidy(() => {
        this.forward(tf.zeros([1, ...inputShape]), { training: false });
      });
    } catch (e) {
      // The usual mistake: passing a batch's shape. Say so, keeping the layer's own message.
      const hint =
        inputShape.length === 4
          ? ` ${JSON.stringify(inputShape)} looks like a batch's shape: build takes the shape of one example, ` +
            `without the batch dimension (e.g. ${JSON.stringify(inputShape.slice(1))}).`
          : '';
      throw new Error(
        `${this.constructor.name}.build(${JSON.stringify(inputShape)}) failed: ${(e as Error).message}.${hint}`,
        {
          cause: e,
        },
      );
    }
    return this;
  }

  /** Builds the module from `inputShape` (no batch dim) unless it is built already. */
  ensureBuilt(inputShape: number[]): this {
    return this.built ? this : this.build(inputShape);
  }

  /** Parameters are shaped by the first input (deferred initialisation): before it, a variable list would be empty or partial. */
  private assertBuilt(what: string): void {
    if (this.built) return;
    const name = this.constructor.name;
    throw new Error(
      `${name}.${what}(): this ${name} has not been built yet, its parameters are created from the ` +
        `shape of its first input. Call .build(inputShape) first (inputShape without the batch dimension, e.g. ` +
        `.build([96, 96, 1])) or run it once on a batch (.apply(x)).`,
    );
  }

  dispose(): void {
    for (const [, v] of this.collectVariables('')) v.dispose();
  }

  /** In a notebook, a cell ending in a module shows its summary table (text form elsewhere). */
  [JUPYTER_DISPLAY](): { 'text/html': string; 'text/plain': string } {
    const s = summarize(this);
    return { 'text/html': summaryHtml(s), 'text/plain': summaryText(s) };
  }
}

/** Runs child modules in order, like Gluon's `nn.Sequential`. */
export class Sequential extends Module {
  protected readonly createsVariables = false;
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

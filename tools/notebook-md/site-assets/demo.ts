/**
 * The demo page's script (bundled by tools/notebook-md/demo.ts with the library's browser
 * entry): loads the model the site build copied to demo/model/, picks a back end (WebGL, else
 * WASM, else cpu) and says which and how long one prediction takes, classifies any of the 100
 * test images or a drawing, shows the top 3 as bars, and lists the test images the model gets
 * wrong. `window.resnetDemo` exposes the same functions to the site's browser test.
 */
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadModel, predictTopK, TEXT_LABELS, tf } from 'resnet-ts';
import type { Module, Prediction } from 'resnet-ts';

interface TestImages {
  count: number;
  size: number;
  columns: number;
  labels: number[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * True when the browser's WebGL is drawn by the CPU (SwiftShader, llvmpipe: no GPU, e.g. headless
 * Chromium): there WASM is several times faster (docs/measurements.md).
 */
function softwareWebGl(): boolean {
  const gl = document.createElement('canvas').getContext('webgl');
  if (!gl) return false;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return /swiftshader|llvmpipe|software/i.test(renderer);
}

/** The first back end that initialises, in order of speed (`?backend=wasm` asks for one). */
async function pickBackend(): Promise<string> {
  setWasmPaths(new URL('assets/', document.baseURI).href);
  const asked = new URLSearchParams(location.search).get('backend');
  const order = asked ? [asked] : softwareWebGl() ? ['wasm', 'webgl', 'cpu'] : ['webgl', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      /* not available in this browser: try the next */
    }
  }
  throw new Error('no TensorFlow.js back end could start');
}

/** Grey pixels in [0, 1] of each 28x28 image of the sprite. */
async function readSprite(meta: TestImages): Promise<Float32Array[]> {
  const img = new Image();
  img.src = 'demo/test-images.png';
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const s = meta.size;
  return Array.from({ length: meta.count }, (_, i) => {
    const ox = (i % meta.columns) * s;
    const oy = Math.floor(i / meta.columns) * s;
    const px = new Float32Array(s * s);
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) px[y * s + x] = data[((oy + y) * canvas.width + ox + x) * 4] / 255;
    return px;
  });
}

/** A batch as the network's input: 28x28 grey in [0, 1], resized bilinearly as the training data was. */
function batchOf(images: Float32Array[], inputShape: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(images.flatMap((im) => Array.from(im))), [images.length, 28, 28, 1]);
    const [h, w] = inputShape;
    return h === 28 && w === 28 ? x : tf.image.resizeBilinear(x, [h, w], false, true);
  });
}

/** Softmax probabilities of every class, per image. */
function probabilities(net: Module, images: Float32Array[], inputShape: number[]): number[][] {
  return tf.tidy(
    () => tf.softmax(net.apply(batchOf(images, inputShape), { training: false })).arraySync() as number[][],
  );
}

function drawBars(el: HTMLElement, preds: Prediction[]): void {
  el.innerHTML = '';
  for (const p of preds) {
    const row = document.createElement('div');
    row.className = 'bar-row';
    row.innerHTML = `<span class="bar-label">${p.className}</span><span class="bar" style="width:${(p.probability * 100).toFixed(1)}%"></span><span class="bar-value">${(p.probability * 100).toFixed(1)}%</span>`;
    el.appendChild(row);
  }
}

function thumbnail(px: Float32Array, scale = 2): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = c.height = 28;
  c.style.width = c.style.height = `${28 * scale}px`;
  const ctx = c.getContext('2d')!;
  const im = ctx.createImageData(28, 28);
  px.forEach((v, i) => {
    im.data.set([v * 255, v * 255, v * 255, 255], i * 4);
  });
  ctx.putImageData(im, 0, 0);
  return c;
}

/** The drawing pad: white strokes on black (as Fashion-MNIST's images are), read back at 28x28. */
function drawingPad(canvas: HTMLCanvasElement, onStroke: (px: Float32Array) => void): () => void {
  const ctx = canvas.getContext('2d')!;
  const clear = () => {
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  ctx.strokeStyle = 'white';
  ctx.lineWidth = canvas.width / 12;
  ctx.lineCap = ctx.lineJoin = 'round';
  let drawing = false;
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    const small = document.createElement('canvas');
    small.width = small.height = 28;
    const sctx = small.getContext('2d')!;
    sctx.drawImage(canvas, 0, 0, 28, 28);
    const { data } = sctx.getImageData(0, 0, 28, 28);
    onStroke(Float32Array.from({ length: 28 * 28 }, (_, i) => data[i * 4] / 255));
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return clear;
}

async function main(): Promise<void> {
  const status = $('demo-status');
  const backend = await pickBackend();
  const net = await loadModel(new URL('demo/model/model.json', document.baseURI).href);
  const inputShape = net.inputShape!;
  const meta = (await (await fetch('demo/test-images.json')).json()) as TestImages;
  const images = await readSprite(meta);

  // One prediction's time: the median of 10, after a warm-up (WebGL compiles its shaders first).
  probabilities(net, [images[0]], inputShape);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    probabilities(net, [images[i]], inputShape);
    times.push(performance.now() - t0);
  }
  const ms = times.sort((a, b) => a - b)[5];
  const note =
    backend === 'wasm' && softwareWebGl() ? ' (WebGL is drawn by the CPU in this browser, so WASM runs it)' : '';
  status.textContent = `Back end: ${backend}. One prediction takes ${ms.toFixed(1)} ms here.${note}`;
  status.dataset.backend = backend;

  const all = probabilities(net, images, inputShape);
  const argmax = (p: number[]) => p.indexOf(Math.max(...p));
  const wrong = all.map((p, i) => i).filter((i) => argmax(all[i]) !== meta.labels[i]);

  const bars = $('demo-bars');
  const chosen = $('demo-chosen');
  const show = (px: Float32Array, caption: string) => {
    chosen.innerHTML = '';
    chosen.appendChild(thumbnail(px, 4));
    const p = document.createElement('p');
    p.textContent = caption;
    chosen.appendChild(p);
    const x = batchOf([px], inputShape);
    drawBars(bars, predictTopK(net, x, 3)[0]);
    x.dispose();
  };
  const grid = $('demo-grid');
  images.forEach((px, i) => {
    const b = document.createElement('button');
    b.className = 'demo-image';
    b.title = `test image ${i}: ${TEXT_LABELS[meta.labels[i]]}`;
    b.dataset.index = String(i);
    b.appendChild(thumbnail(px));
    b.addEventListener('click', () => show(px, `test image ${i}, labelled ${TEXT_LABELS[meta.labels[i]]}`));
    grid.appendChild(b);
  });
  const panel = $('demo-wrong');
  $('demo-wrong-count').textContent = `${wrong.length} of ${meta.count}`;
  for (const i of wrong) {
    const fig = document.createElement('figure');
    fig.dataset.index = String(i);
    fig.appendChild(thumbnail(images[i]));
    const cap = document.createElement('figcaption');
    cap.textContent = `${TEXT_LABELS[meta.labels[i]]} → ${TEXT_LABELS[argmax(all[i])]}`;
    fig.appendChild(cap);
    panel.appendChild(fig);
  }
  const pad = $<HTMLCanvasElement>('demo-pad');
  const clear = drawingPad(pad, (px) => show(px, 'your drawing'));
  $('demo-clear').addEventListener('click', () => clear());
  show(images[0], `test image 0, labelled ${TEXT_LABELS[meta.labels[0]]}`);

  (window as unknown as { resnetDemo: unknown }).resnetDemo = {
    backend,
    msPerPrediction: ms,
    labels: meta.labels,
    misclassified: wrong,
    probabilities: (indices: number[]) =>
      probabilities(
        net,
        indices.map((i) => images[i]),
        inputShape,
      ),
  };
  document.body.dataset.demo = 'ready';
}

main().catch((e) => {
  $('demo-status').textContent = `The demo could not start: ${(e as Error).message}`;
  document.body.dataset.demo = 'failed';
  console.error(e);
});

/**
 * The course site in a real browser: builds it from the fixture notebooks (with outputs of every
 * kind) and from the chapter's notebooks, executed here by the notebook runner in fast mode
 * (build/test-notebook-md/executed, ~20 s) so the training page's plots are always checked; serves
 * both on 127.0.0.1 (ephemeral port, node http), and opens every page
 * in headless Debian chromium through playwright-core: no console errors, no failed requests,
 * math rendered by KaTeX, plots present as SVG (interactive through the local vega-embed), and
 * next/prev navigation that works by clicking. Screenshots: build/screenshots/site-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page, Request } from 'playwright-core';
import { launchChromium } from '../../helpers/browser';
import { buildSite, SitePage } from '../../../tools/notebook-md/site';
import { readNotebook } from '../../../tools/notebook-md/ipynb';
import { buildDist, runProcess } from '../../helpers/process';
import { TEXT_LABELS } from '../../../src/data/labels';

const ROOT = path.resolve(__dirname, '../../..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'notebook-md');
const WORK = path.join(ROOT, 'build', 'test-notebook-md');
const SHOTS = path.join(ROOT, 'build', 'screenshots');

const sites: Record<string, { dir: string; pages: SitePage[] }> = {};
let server: http.Server | undefined;
let browser: Browser | undefined;
let base = '';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function serve(): Promise<string> {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, site, ...rest] = decodeURIComponent(url.pathname).split('/');
    const dir = sites[site]?.dir;
    const file = dir ? path.resolve(dir, rest.join('/') || 'index.html') : '';
    if (!dir || !file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server!.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const fixtures = await buildSite({
    root: ROOT,
    sourceDir: path.join(FIX, 'source'),
    executedDir: path.join(FIX, 'executed'),
    outDir: path.join(WORK, 'site-fixtures'),
    requireExecuted: true,
  });
  sites.fixtures = { dir: fixtures.outDir, pages: fixtures.pages };
  // The chapter's notebooks, executed now (the runner is in dist/, so build it first).
  await buildDist();
  const executedDir = path.join(WORK, 'executed');
  fs.rmSync(executedDir, { recursive: true, force: true });
  const run = await runProcess(
    process.execPath,
    [path.join(ROOT, 'dist', 'tools', 'notebook-runner', 'cli.js'), '--fast', '--out', executedDir],
    { cwd: ROOT, timeoutMs: 240_000 },
  );
  if (run.code !== 0)
    throw new Error(`notebook runner failed (exit ${run.code}, timed out: ${run.timedOut}):\n${run.out}`);
  const real = await buildSite({
    root: ROOT,
    sourceDir: path.join(ROOT, 'notebooks'),
    executedDir,
    outDir: path.join(WORK, 'site-real'),
    requireExecuted: true,
    demo: { recipe: 'tiny' }, // trained here (seconds) when runs/tiny/model is missing
  });
  sites.real = { dir: real.outDir, pages: real.pages };
  base = await serve();
  browser = await launchChromium(); // (playwright gives it a fresh temporary --user-data-dir)
}, 480_000); // buildDist (up to 170 s) + the notebooks in fast mode (up to 240 s)

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

/** An open page with the problems seen on it and the requests it has not finished yet. */
interface OpenPage {
  page: Page;
  problems: string[];
  pending: Set<Request>;
}

/** Opens a page, collecting console errors, uncaught exceptions and failed requests. */
async function open(url: string): Promise<OpenPage> {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  const pending = new Set<Request>();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    pending.add(r);
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`off-site request: ${r.url()}`);
  });
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => {
    pending.delete(r);
    problems.push(`request failed: ${r.url()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems, pending };
}

/**
 * Waits until the page has had no request in flight for 500 ms. Our own count instead of
 * playwright's 'networkidle' (discouraged by its docs; it once timed out in CI without saying
 * on what): a request that really hangs is named in the error.
 */
async function settled({ page, pending }: OpenPage, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietSince = Date.now();
  for (;;) {
    if (pending.size > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= 500) return;
    if (Date.now() > deadline) {
      const urls = [...pending].map((r) => r.url()).join(', ');
      throw new Error(`${page.url()}: requests still pending after ${timeoutMs} ms: ${urls}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function checkPage(site: string, p: SitePage | null) {
  const file = p ? p.file : 'index.html';
  const opened = await open(`${base}/${site}/${file}`);
  const { page, problems } = opened;
  try {
    if (p && p.figures > 0 && (await page.locator('figure.vega-figure').count()) > 0) {
      // vega-embed replaces every static figure by an interactive one.
      await page.waitForFunction(
        () => document.querySelectorAll('figure.vega-figure:not(.vega-interactive)').length === 0,
        null,
        { timeout: 15_000 },
      );
    }
    await settled(opened);
    const fonts = await page.evaluate(async () => {
      await document.fonts.ready;
      const loaded: string[] = [];
      document.fonts.forEach((f) => {
        if (f.status === 'loaded') loaded.push(f.family);
      });
      return loaded;
    });
    const info = await page.evaluate(() => ({
      katex: document.querySelectorAll('.katex').length,
      katexErrors: document.querySelectorAll('.katex-error').length,
      svgs: document.querySelectorAll('.outputs svg').length,
      interactive: document.querySelectorAll('figure.vega-interactive svg').length,
      highlighted: document.querySelectorAll('pre code.hljs .hljs-keyword').length,
      title: document.title,
      // Every <img> (outputs' data URLs and the prose's figure files) decoded to a real size.
      images: Array.from(document.images).map((img) => ({
        src: img.getAttribute('src') ?? '',
        width: img.complete ? img.naturalWidth : 0,
      })),
    }));
    const broken = info.images.filter((img) => img.width === 0).map((img) => img.src.slice(0, 80));
    expect(broken, `${site}/${file}: images that did not load`).toEqual([]);
    await page.screenshot({
      path: path.join(SHOTS, `site-${site === 'real' ? '' : 'fixture-'}${file.replace(/\.html$/, '')}.png`),
      fullPage: true,
    });
    expect(problems, `${site}/${file}`).toEqual([]);
    return { page, info, fonts };
  } catch (e) {
    await page.close();
    throw e;
  }
}

describe('course site in headless chromium', () => {
  it('fixture site: every page loads cleanly; math, highlighting, plots, images, errors', async () => {
    const pages = sites.fixtures.pages;
    expect(pages.map((p) => p.file)).toEqual(['01-basics.html', '02-figures.html', '03-errors.html']);
    const index = await checkPage('fixtures', null);
    expect(await index.page.locator('ol.toc a').count()).toBe(3);
    await index.page.close();

    const basics = await checkPage('fixtures', pages[0]);
    expect(basics.info.katex).toBeGreaterThanOrEqual(2);
    expect(basics.info.katexErrors).toBe(0);
    expect(basics.fonts.some((f) => f.startsWith('KaTeX'))).toBe(true);
    expect(basics.info.highlighted).toBeGreaterThan(0);
    expect(await basics.page.locator('.output.html table.t').count()).toBe(1);
    expect(await basics.page.locator('pre.output.stderr').count()).toBe(1);
    await basics.page.close();

    const figures = await checkPage('fixtures', pages[1]);
    // The prose's figure file, copied beside the page.
    expect(figures.info.images.filter((img) => img.src === 'figures/fixture-figure.svg')).toHaveLength(1);
    // Two vega-lite plots (one with its own SVG, one rendered at build time), interactive; a PNG; an SVG.
    expect(figures.info.interactive).toBe(2);
    expect(await figures.page.locator('.output.image img[src^="data:image/png"]').count()).toBe(1);
    expect(await figures.page.locator('.output.image.svg svg text').textContent()).toBe('svg output');
    expect(await figures.page.locator('pre.output.text').textContent()).toBe('2');
    await figures.page.close();

    const errors = await checkPage('fixtures', pages[2]);
    expect(await errors.page.locator('pre.output.error').textContent()).toContain('Error: boom');
    expect(await errors.page.locator('pre.output.error').textContent()).not.toContain('\u001b');
    expect(await errors.page.locator('pre.raw').textContent()).toBe('raw cell text <not html>');
    // The notebook link in the prose points at the page.
    expect(await errors.page.locator('article a[href="01-basics.html"]').count()).toBe(1);
    await errors.page.close();
  });

  it('navigation: next, next, prev and contents by clicking', async () => {
    const { page, problems } = await open(`${base}/fixtures/index.html`);
    await page.click('ol.toc a >> nth=0');
    await page.waitForURL(/01-basics\.html$/);
    await page.click('nav.site-nav-top a.nav-next');
    await page.waitForURL(/02-figures\.html$/);
    await page.click('nav.site-nav-bottom a.nav-next');
    await page.waitForURL(/03-errors\.html$/);
    expect(await page.locator('a.nav-next').count()).toBe(0);
    await page.click('nav.site-nav-top a.nav-prev');
    await page.waitForURL(/02-figures\.html$/);
    await page.click('nav.site-nav-top a.nav-index');
    await page.waitForURL(/index\.html$/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('chapter site (notebooks executed in fast mode): every page loads, math renders, training page has plots', async () => {
    const pages = sites.real.pages;
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((p) => p.executed)).toBe(true);
    await (await checkPage('real', null)).page.close();
    let math = 0;
    let training = 0;
    let proseFigures = 0;
    for (const p of pages) {
      const { page, info } = await checkPage('real', p);
      // Every page whose prose has $...$ shows it typeset.
      const prose = readNotebook(path.join(ROOT, 'notebooks', `${p.name}.ipynb`))
        .cells.filter((c) => c.cell_type === 'markdown')
        .map((c) => c.source)
        .join('\n');
      if (/\$[^$\n]+\$/.test(prose)) expect(info.katex, p.file).toBeGreaterThan(0);
      math += info.katex;
      proseFigures += info.images.filter((img) => img.src.startsWith('figures/')).length;
      expect(info.katexErrors, p.file).toBe(0);
      if (/training/.test(p.name)) {
        training++;
        // The live training plot and the image grid.
        expect(info.svgs, p.file).toBeGreaterThanOrEqual(2);
        expect(info.interactive, p.file).toBeGreaterThanOrEqual(1);
      }
      await page.close();
    }
    expect(math).toBeGreaterThan(0);
    // The chapter's figures (notebooks/figures/*.svg), each shown and loaded somewhere in the course.
    expect(proseFigures).toBeGreaterThanOrEqual(4);
    expect(training).toBe(2); // 03-training and 04-training-faster
    // Next from the first page of the chapter leads to the second.
    const { page } = await open(`${base}/real/${pages[0].file}`);
    await page.click('nav.site-nav-top a.nav-next');
    await page.waitForURL(new RegExp(`${pages[1].file.replace('.', '\\.')}$`));
    await page.close();
  });

  it("chapter site: widgets drawn from the saved state; part 6's depth slider flips its charts with no kernel", async () => {
    const page = (name: string) => sites.real.pages.find((p) => p.name === name)!;
    // Part 2's explorer: four controls over the Output with the summary table of the first setting.
    const explorer = await checkPage('real', page('02-resnet'));
    await explorer.page.locator('.widget-subarea .widget-vbox').waitFor({ timeout: 15_000 });
    expect(await explorer.page.locator('.widget-subarea .widget-dropdown select').count()).toBe(3);
    expect(await explorer.page.locator('.widget-subarea .widget-slider .widget-readout').innerText()).toBe('96');
    const table = explorer.page.locator('.widget-subarea .widget-output table.module-summary');
    expect(await table.locator('tbody tr').count()).toBe(6);
    expect(await table.innerText()).toContain('11,178,250'); // ResNet-18 as in Table 1, seed stem, 10 classes
    expect(await explorer.page.locator('.widget-fallback').isVisible()).toBe(false);
    await explorer.page.close();

    // Part 3: the training controls as the run left them.
    const training = await checkPage('real', page('03-training'));
    await training.page.locator('.widget-subarea button.widget-button').waitFor({ timeout: 15_000 });
    expect(await training.page.locator('.widget-subarea button.widget-button').innerText()).toContain('Stop');
    expect(await training.page.locator('.widget-subarea .widget-label', { hasText: /steps$/ }).innerText()).toMatch(
      /^finished after \d+ steps$/,
    );
    await training.page.close();

    // Part 6: the slider switches between the precomputed charts inside the page.
    const six = await checkPage('real', page('06-plain-vs-residual'));
    const box = six.page.locator('.widget-subarea .widget-vbox');
    await box.waitFor({ timeout: 15_000 });
    const visibleTitle = () =>
      box
        .locator('.widget-html svg')
        .evaluateAll((svgs) =>
          svgs
            .filter((s) => (s as SVGElement).getBoundingClientRect().height > 0)
            .map((s) => s.querySelector('text.role-title-text, .role-title text')?.textContent ?? ''),
        );
    const [first] = await visibleTitle();
    expect(first).toMatch(/^\d+ layers: plain and residual$/);
    const later: string[] = [];
    six.page.on('pageerror', (e) => later.push(e.message));
    six.page.on('console', (m) => m.type() === 'error' && later.push(m.text()));
    const handle = box.locator('.noUi-handle');
    await handle.focus();
    await six.page.keyboard.press('ArrowRight');
    await expect.poll(async () => (await visibleTitle())[0], { timeout: 5_000 }).not.toBe(first);
    const [second] = await visibleTitle();
    expect(second).toMatch(/^\d+ layers: plain and residual$/);
    expect(await box.locator('.widget-readout').innerText()).toBe(second.replace(': plain and residual', ''));
    expect(later).toEqual([]);
    await six.page.screenshot({ path: path.join(SHOTS, 'site-06-depth-slider.png'), fullPage: true });
    await six.page.close();
  });
});

describe('the demo page: the trained model in the browser', () => {
  it("names its back end; its predictions equal Node's; a drawing is classified; the wrong ones match", async () => {
    const { page } = await checkPage('real', {
      name: 'demo',
      file: 'demo.html',
      title: '',
      executed: true,
      stale: false,
      figures: 0,
    });
    await page.waitForFunction(() => document.body.dataset.demo, null, { timeout: 60_000 });
    expect(await page.evaluate(() => document.body.dataset.demo)).toBe('ready');
    const status = await page.locator('#demo-status').innerText();
    expect(status).toMatch(
      /^Back end: (webgl|wasm|cpu)\. One prediction takes \d+\.\d ms here\.( \(WebGL is drawn by the CPU in this browser, so WASM runs it\))?$/,
    );
    const demo = (await page.evaluate(() => {
      const d = (
        window as unknown as {
          resnetDemo: {
            backend: string;
            msPerPrediction: number;
            labels: number[];
            misclassified: number[];
            probabilities(i: number[]): number[][];
          };
        }
      ).resnetDemo;
      return {
        backend: d.backend,
        ms: d.msPerPrediction,
        labels: d.labels,
        misclassified: d.misclassified,
        probs: d.probabilities(Array.from({ length: 32 }, (_, i) => i)),
      };
    })) as { backend: string; ms: number; labels: number[]; misclassified: number[]; probs: number[][] };
    console.log(`demo page: back end ${demo.backend}, ${demo.ms.toFixed(1)} ms per prediction (median of 10)`);

    // The same model, images and preprocessing in Node.
    const { loadModel, tf, ensureFashionMnist, loadFashionMnistArrays } = await import('../../../src/index');
    const net = await loadModel(`file://${path.join(sites.real.dir, 'demo', 'model')}`);
    const { test } = loadFashionMnistArrays((await ensureFashionMnist()).dir);
    const [h, w] = net.inputShape!;
    const nodeProbs = tf.tidy(() => {
      const x = tf.tensor4d(
        Float32Array.from(test.images.subarray(0, 100 * 784), (v) => v / 255),
        [100, 28, 28, 1],
      );
      return tf
        .softmax(net.apply(tf.image.resizeBilinear(x, [h, w], false, true), { training: false }))
        .arraySync() as number[][];
    });
    const argmax = (p: number[]) => p.indexOf(Math.max(...p));
    expect(demo.labels).toEqual(Array.from(test.labels.subarray(0, 100)));
    expect(demo.probs.map(argmax)).toEqual(nodeProbs.slice(0, 32).map(argmax));
    const gap = Math.max(...demo.probs.flatMap((row, i) => row.map((p, c) => Math.abs(p - nodeProbs[i][c]))));
    expect(gap).toBeLessThan(1e-3);
    const nodeWrong = nodeProbs.map((p, i) => i).filter((i) => argmax(nodeProbs[i]) !== demo.labels[i]);
    expect(demo.misclassified).toEqual(nodeWrong);
    expect(await page.locator('#demo-wrong figure').count()).toBe(nodeWrong.length);
    if (nodeWrong.length)
      expect(await page.locator('#demo-wrong figcaption').first().innerText()).toBe(
        `${TEXT_LABELS[demo.labels[nodeWrong[0]]]} → ${TEXT_LABELS[argmax(nodeProbs[nodeWrong[0]])]}`,
      );

    // A click on a test image, then a stroke on the pad: each gives three bars.
    await page.locator('.demo-image[data-index="7"]').click();
    expect(await page.locator('#demo-chosen p').innerText()).toBe(
      `test image 7, labelled ${TEXT_LABELS[demo.labels[7]]}`,
    );
    expect(await page.locator('#demo-bars .bar-label').first().innerText()).toBe(TEXT_LABELS[argmax(nodeProbs[7])]);
    await page.locator('#demo-pad').scrollIntoViewIfNeeded();
    const pad = (await page.locator('#demo-pad').boundingBox())!;
    await page.mouse.move(pad.x + 80, pad.y + 60);
    await page.mouse.down();
    for (const [dx, dy] of [
      [120, 60],
      [120, 220],
      [200, 220],
      [200, 60],
    ])
      await page.mouse.move(pad.x + dx, pad.y + dy, { steps: 5 });
    await page.mouse.up();
    expect(await page.locator('#demo-chosen p').innerText()).toBe('your drawing');
    expect(await page.locator('#demo-bars .bar-row').count()).toBe(3);
    const percents = await page.locator('#demo-bars .bar-value').allInnerTexts();
    expect(percents.map((p) => parseFloat(p)).every((p) => p >= 0 && p <= 100)).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'site-demo.png'), fullPage: true });
    await page.close();

    // The other back ends the page can run on give the same answers.
    for (const backend of ['webgl', 'wasm', 'cpu'].filter((b) => b !== demo.backend)) {
      const { page: other, problems } = await open(`${base}/real/demo.html?backend=${backend}`);
      await other.waitForFunction(() => document.body.dataset.demo, null, { timeout: 60_000 });
      expect(await other.locator('#demo-status').innerText()).toMatch(new RegExp(`^Back end: ${backend}\\. `));
      const probs = (await other.evaluate(() =>
        (window as unknown as { resnetDemo: { probabilities(i: number[]): number[][] } }).resnetDemo.probabilities(
          Array.from({ length: 32 }, (_, i) => i),
        ),
      )) as number[][];
      expect(probs.map(argmax), backend).toEqual(nodeProbs.slice(0, 32).map(argmax));
      expect(
        Math.max(...probs.flatMap((row, i) => row.map((p, c) => Math.abs(p - nodeProbs[i][c])))),
        backend,
      ).toBeLessThan(1e-3);
      expect(problems, backend).toEqual([]);
      await other.close();
    }
  });
});

describe('site inputs', () => {
  it('without executed copies: pages without outputs and a message, or an error with --require-executed', async () => {
    const lines: string[] = [];
    const none = path.join(WORK, 'no-executed');
    const out = path.join(WORK, 'site-sources');
    const r = await buildSite({
      root: ROOT,
      sourceDir: path.join(FIX, 'source'),
      executedDir: none,
      outDir: out,
      log: (l) => lines.push(l),
    });
    expect(r.pages.every((p) => !p.executed)).toBe(true);
    expect(lines[0]).toMatch(
      /no executed copy of 01-basics, 02-figures, 03-errors in .*: run `npm run notebooks` first; building every page from the source notebooks, without outputs/,
    );
    expect(fs.readFileSync(path.join(out, '02-figures.html'), 'utf8')).not.toContain('vega-figure');
    await expect(
      buildSite({
        root: ROOT,
        sourceDir: path.join(FIX, 'source'),
        executedDir: none,
        outDir: out,
        requireExecuted: true,
      }),
    ).rejects.toThrow(/run `npm run notebooks` first/);
  });

  it('a figure the prose shows but the folder lacks fails the build, naming the page and the file', async () => {
    const src = path.join(WORK, 'missing-figure');
    fs.rmSync(src, { recursive: true, force: true });
    fs.mkdirSync(src, { recursive: true });
    const nb = readNotebook(path.join(FIX, 'source', '02-figures.ipynb'));
    fs.writeFileSync(path.join(src, '02-figures.ipynb'), JSON.stringify(nb));
    const build = () =>
      buildSite({ root: ROOT, sourceDir: src, executedDir: src, outDir: path.join(WORK, 'site-missing-figure') });
    await expect(build()).rejects.toThrow(
      /02-figures\.ipynb shows the image figures\/fixture-figure\.svg, but .* does not exist/,
    );
    // With the file in place the same build copies it beside the page.
    fs.mkdirSync(path.join(src, 'figures'));
    fs.copyFileSync(
      path.join(FIX, 'source', 'figures', 'fixture-figure.svg'),
      path.join(src, 'figures', 'fixture-figure.svg'),
    );
    await build();
    expect(fs.existsSync(path.join(WORK, 'site-missing-figure', 'figures', 'fixture-figure.svg'))).toBe(true);
  });

  it('refuses to empty a folder it did not make', async () => {
    const dir = path.join(WORK, 'not-a-site');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'precious.txt'), 'keep');
    await expect(
      buildSite({
        root: ROOT,
        sourceDir: path.join(FIX, 'source'),
        executedDir: path.join(FIX, 'executed'),
        outDir: dir,
      }),
    ).rejects.toThrow(/not empty and was not made by npm run site/);
    expect(fs.existsSync(path.join(dir, 'precious.txt'))).toBe(true);
  });
});

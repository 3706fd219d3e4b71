/**
 * The notebooks in a real front end: the classic Jupyter Notebook server (Debian's
 * jupyter-notebook) on 127.0.0.1 with a token, headless Debian chromium driven by
 * playwright-core, every cell run on the project's kernel in fast mode. Checks that the shape-check
 * tables and rendered plots appear, what the kernel adds (a module's summary as Out[n], an error's
 * red traceback), and keeps a screenshot of each notebook in build/screenshots/.
 *
 * The server works on copies in build/browser-notebooks/ (autosave off as well), so the
 * committed notebooks never get outputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/browser';
import { prepareNotebookCopies } from '../../helpers/notebook_copies';
import { buildDist } from '../../helpers/process';
import { freePort } from '../../../tools/free_ports';

const ROOT = path.resolve(__dirname, '../../..');
const WORK = path.join(ROOT, 'build', 'browser-notebooks');
const SHOTS = path.join(ROOT, 'build', 'screenshots');
const JUPYTER = fs.existsSync('/usr/bin/jupyter-notebook') ? '/usr/bin/jupyter-notebook' : 'jupyter-notebook';

let server: ChildProcess | undefined;
let browser: Browser | undefined;
let base = '';
const token = randomBytes(16).toString('hex');
let serverLog = '';

/** Waits until the server answers (true) or exits or the deadline passes (false). */
async function serverUp(proc: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      if (r.ok) return true;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline || proc.exitCode !== null) return false;
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  await buildDist(); // the notebooks import the built package
  prepareNotebookCopies(WORK);
  fs.mkdirSync(SHOTS, { recursive: true });

  // A free port can be taken between probing and binding (other tests, other engineers): with
  // --port-retries=0 the server then exits at once, so try again on a fresh port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serverLog = '';
    server = spawn(
      JUPYTER,
      [
        '--no-browser',
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--port-retries=0',
        `--notebook-dir=${WORK}`,
        `--NotebookApp.token=${token}`,
        '--NotebookApp.password=',
        '--allow-root',
        '--NotebookApp.disable_check_xsrf=False',
        '--MappingKernelManager.cull_idle_timeout=0',
      ],
      { cwd: WORK, env: { ...process.env, RESNET_TS_FAST: '1', BROWSER: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (d) => {
      serverLog += d;
    });
    server.stderr!.on('data', (d) => {
      serverLog += d;
    });
    if (await serverUp(server, 90_000)) break;
    // Let the last output of an exited server arrive before reading it.
    await new Promise((r) => {
      server!.once('close', r);
      setTimeout(r, 1000);
    });
    const collided =
      server.exitCode !== null && /already in use|Address already in use|could not bind/i.test(serverLog);
    if (!collided || attempt === 3)
      throw new Error(`notebook server did not start (attempt ${attempt}):\n${serverLog}`);
  }
  browser = await launchChromium();
}, 300_000); // buildDist (up to 170 s) and the server start

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        server!.kill('SIGKILL');
        r(null);
      }, 5000);
      server!.once('exit', () => {
        clearTimeout(t);
        r(null);
      });
    });
  }
});

/**
 * Console errors of Debian's classic Notebook front end itself, whatever the notebook does: its
 * config asks for the ipywidgets nbextension, which is not installed (404, then a MIME refusal),
 * and MathJax 2 declares a placeholder font (MathJax_Blank) at about:blank, which Chromium refuses
 * (JupyterLab shows the same). Without a widget manager (Debian 12 only has ipywidgets 6's, which
 * cannot draw protocol 2 widgets; the README names JupyterLab as the widget front end) it logs
 * every widget's comm_open as a comm it cannot open and each message on it as one it cannot
 * process; the widgets show their text there. Everything else fails the test.
 */
const FRONT_END_NOISE = [
  /\/nbextensions\/widgets\/notebook\/js\/extension\.js/,
  /^console: Could not open comm {2}-- {2}Error: Class jupyter\.widget not found in registry /,
  /^console: Couldn't process kernel message WrappedError /,
  /^console: Access to font at 'about:blank' /,
  /^console: Failed to load resource: net::ERR_FAILED \(about:blank\)$/,
];

/** Opens a notebook, runs all cells, waits until every code cell has run; returns the page. */
async function runInBrowser(name: string) {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${String(e)}`));
  page.on('console', (m) => {
    const line = `console: ${m.text()} (${m.location().url})`;
    if (m.type() === 'error' && !FRONT_END_NOISE.some((re) => re.test(line))) consoleErrors.push(line);
  });
  await page.goto(`${base}/notebooks/${name}?token=${token}`);
  await page.waitForFunction(
    () => {
      const J = (globalThis as any).Jupyter;
      return J?.notebook?.kernel?.is_connected?.() && J.notebook.kernel.info_reply?.protocol_version;
    },
    null,
    { timeout: 60_000 },
  );
  await page.evaluate(() => {
    const nb = (globalThis as any).Jupyter.notebook;
    nb.set_autosave_interval(0); // never write outputs back
    nb.execute_all_cells();
  });
  // Done when every code cell shows an execution number; a cell with an error stops the wait early.
  const state = await page.waitForFunction(
    () => {
      const cells = (globalThis as any).Jupyter.notebook.get_cells().filter((c: any) => c.cell_type === 'code');
      const failed = cells.findIndex((c: any) =>
        c.output_area.outputs.some(
          (o: any) => o.output_type === 'error' || (o.name === 'stderr' && /Error|error TS|\d+:\d+ - /.test(o.text)),
        ),
      );
      if (failed >= 0) return { failed, text: cells[failed].element.text() };
      const done = cells.every((c: any) => typeof c.input_prompt_number === 'number');
      return done ? { failed: -1, text: '' } : null;
    },
    null,
    { timeout: 180_000, polling: 250 },
  );
  const result = (await state.jsonValue()) as { failed: number; text: string };
  expect(result.failed, `${name}: code cell ${result.failed + 1} failed in the browser:\n${result.text}`).toBe(-1);
  expect(consoleErrors, `${name}: page and console errors`).toEqual([]);
  // The notebook scrolls inside #site, so make the viewport as tall as the notebook for one picture.
  const height = await page.evaluate(
    () => (globalThis as any).document.querySelector('#notebook')?.scrollHeight ?? 900,
  );
  await page.setViewportSize({ width: 1200, height: Math.min(Math.max(900, height + 160), 10_000) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(SHOTS, name.replace('.ipynb', '.png')), fullPage: true });
  return page;
}

/** The prose's figures (notebooks/figures/*.svg, served by the Notebook server) are there and decoded to a real size. */
async function expectFiguresLoaded(page: Page, count: number): Promise<void> {
  const sizes = () =>
    page
      .locator('.text_cell_render img')
      .evaluateAll((imgs) => imgs.map((i) => `${i.getAttribute('src')}: ${(i as HTMLImageElement).naturalWidth}`));
  await expect.poll(async () => (await sizes()).length, { timeout: 15_000 }).toBe(count);
  await expect.poll(async () => (await sizes()).filter((s) => s.endsWith(': 0')), { timeout: 15_000 }).toEqual([]);
}

describe('notebooks in the classic Jupyter Notebook, headless chromium', () => {
  it('01-residual-block: both shape-check tables render, all ok', async () => {
    const page = await runInBrowser('01-residual-block.ipynb');
    const tables = page.locator('.output_html table.shape-checks');
    expect(await tables.count()).toBe(2);
    const all = (await tables.allInnerTexts()).join('\n');
    expect(all).toContain('[4, 6, 6, 3]');
    expect(all).toContain('(4, 8, 3, 3)');
    expect(all).toContain('[4, 3, 3, 8]');
    expect(all).not.toContain('mismatch');
    await expectFiguresLoaded(page, 3);
    await page.close();
  });

  it('02-resnet: verbose block shapes and six checked rows', async () => {
    const page = await runInBrowser('02-resnet.ipynb');
    expect(await page.locator('.output_text', { hasText: 'block 6 output: [4,10]' }).count()).toBe(1);
    expect(await page.locator('.output_html table.shape-checks tbody tr').count()).toBe(6);
    expect(await page.locator('.output_html table.shape-checks', { hasText: 'mismatch' }).count()).toBe(0);
    await expectFiguresLoaded(page, 1);
    await page.close();
  });

  it('03-training: the live plot and the image grid render as SVG', async () => {
    const page = await runInBrowser('03-training.ipynb');
    const svgs = page.locator('.output_svg svg');
    expect(await svgs.count()).toBe(2);
    // The training curves: three line paths in the plot and the legend entries.
    const curves = svgs.nth(0);
    expect(await curves.locator('.mark-line path').count()).toBe(3);
    expect(await curves.textContent()).toContain('test acc');
    const box = await curves.boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    // The grid: 16 images with labels.
    expect(await svgs.nth(1).locator('image').count()).toBe(16);
    expect(await page.locator('.output_text', { hasText: /Epoch 0\. Loss/ }).count()).toBeGreaterThan(0);
    await page.close();
  });

  it("the kernel's own outputs: a module's summary table as Out[2], an error's red traceback", async () => {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${base}/notebooks/kernel-features.ipynb?token=${token}`);
    await page.waitForFunction(
      () => (globalThis as any).Jupyter?.notebook?.kernel?.info_reply?.protocol_version,
      null,
      {
        timeout: 60_000,
      },
    );
    await page.evaluate(() => {
      const nb = (globalThis as any).Jupyter.notebook;
      nb.set_autosave_interval(0);
      nb.execute_all_cells();
    });
    const error = page.locator('.output_error');
    await error.waitFor({ timeout: 120_000 });
    // The value of cell 2 is an execute_result: an Out[2] prompt and the HTML summary table.
    const out = page.locator('.output_area', { has: page.locator('table.module-summary') });
    expect(await out.locator('.output_prompt').innerText()).toMatch(/Out\[2\]/);
    expect(await out.locator('table.module-summary tbody tr').count()).toBe(6);
    expect(await out.locator('table.module-summary').innerText()).toContain('(64, 3, 3)');
    // The error: its name, message and the frame mapped to the cell's line, the header in red.
    const text = await error.innerText();
    expect(text).toContain('RangeError: shown in red');
    expect(text).toMatch(/at failing cell \[3\] line 2/);
    // Bold red: the classic Notebook renders it as an ansi-red class (ansi-red-intense-fg when bold).
    const red = error.locator('[class*="ansi-red"]', { hasText: 'RangeError' });
    expect(await red.count(), await error.innerHTML()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'kernel-features.png'), fullPage: true });
    await page.close();
  });
});

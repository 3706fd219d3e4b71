/**
 * `npm run site`: the course site, static HTML under build/site/, one page per notebook plus an
 * index, with prev/next navigation. Built on unified: prose through remark-parse + remark-gfm +
 * remark-math -> remark-rehype -> rehype-katex, code through rehype-highlight, the page through
 * rehype-stringify. Everything the pages load is copied next to them (KaTeX CSS and fonts,
 * highlight.js theme, vega + vega-lite + vega-embed bundles): no CDN, works offline and from file://.
 *
 * Content: the notebooks listed in notebooks/ (their order is the course order). Each page takes the
 * executed copy build/notebooks/<name>.ipynb (written by `npm run notebooks`) when there is one,
 * with its outputs: text streams, errors, HTML, PNG/JPEG/SVG images, and vega-lite plots as inline
 * SVG (the output's own image/svg+xml, else rendered here with vega in Node), made interactive in
 * the browser by vega-embed. Without an executed copy the page is built from the source notebook,
 * without outputs, and the command says so (`npm run notebooks` first); --require-executed makes
 * that an error instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkGfm from 'remark-gfm';
import remarkMath from 'remark-math';
import remarkRehype from 'remark-rehype';
import rehypeKatex from 'rehype-katex';
import rehypeHighlight from 'rehype-highlight';
import rehypeStringify from 'rehype-stringify';
import type { Root as HastRoot, Element, ElementContent, RootContent as HastContent } from 'hast';
import { visit } from 'unist-util-visit';
import type { Root as MdastRoot } from 'mdast';
import type { InlineMath } from 'mdast-util-math';
import { Cell, Notebook, Output, joinText, readNotebook } from './ipynb';
import { listNotebooks } from './mirror';
import { buildDemo } from './demo';
import { VEGA_LITE_MIMES } from '../../src/display/display';
import { WIDGET_STATE_MIME, WIDGET_VIEW_MIME } from '../../src/widgets/widget';

export interface SiteOptions {
  /** Project root (node_modules with the assets). */
  root: string;
  /** The source notebooks: which pages, in which order. */
  sourceDir: string;
  /** Executed copies with outputs (build/notebooks). */
  executedDir: string;
  outDir: string;
  /** Fail when a notebook has no executed copy (instead of a page without outputs). */
  requireExecuted?: boolean;
  /** Course title on the index page. */
  title?: string;
  /**
   * Also build demo.html, the trained model of this recipe classifying in the browser (the model
   * is trained first when runs/<recipe>/model is missing; see demo.ts).
   */
  demo?: { recipe: string };
  log?: (line: string) => void;
}

export interface SitePage {
  name: string;
  /** Page file name, relative to outDir. */
  file: string;
  title: string;
  /** Built from an executed copy (with outputs). */
  executed: boolean;
  /** The executed copy's code differs from the source notebook's. */
  stale: boolean;
  figures: number;
}

const MARKER_FILE = '.resnet-ts-site';

const h = (tagName: string, properties: Record<string, unknown> = {}, children: ElementContent[] = []): Element => ({
  type: 'element',
  tagName,
  properties: properties as Element['properties'],
  children,
});
const text = (value: string): ElementContent => ({ type: 'text', value });
const raw = (value: string): ElementContent => ({ type: 'raw', value }) as unknown as ElementContent;

// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

function titleOf(nb: Notebook, fallback: string): string {
  for (const c of nb.cells) {
    if (c.cell_type !== 'markdown') continue;
    const m = /^#\s+(.+?)\s*#*\s*$/m.exec(c.source);
    if (m) return m[1].replace(/[*_`]/g, '').replace(/\$([^$]*)\$/g, '$1');
  }
  return fallback;
}

/** Makes the ids of one inline SVG unique on the page (vega's clip paths are clip1, clip2, ... in every figure). */
function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/<\?xml[^>]*\?>\s*/g, '')
    .replace(/<!DOCTYPE[^>]*>\s*/gi, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/(xlink:href|href)="#([^"]+)"/g, `$1="#${prefix}-$2"`);
}

const markdownProcessor = () =>
  unified().use(remarkParse).use(remarkGfm).use(remarkMath).use(remarkRehype, { allowDangerousHtml: true });

/**
 * `$$...$$` written within a line (as Jupyter's MathJax takes it) is display math too; remark-math
 * reads it as inline math, so mark those for rehype-katex's display mode.
 */
function displayDoubleDollar(tree: MdastRoot, src: string): void {
  visit(tree, 'inlineMath', (node: InlineMath) => {
    const start = node.position?.start.offset;
    if (start !== undefined && src.startsWith('$$', start)) {
      node.data = { ...node.data, hProperties: { className: ['language-math', 'math-display'] } };
    }
  });
}

async function markdownToHast(src: string): Promise<ElementContent[]> {
  const p = markdownProcessor();
  const md = p.parse(src) as MdastRoot;
  displayDoubleDollar(md, src);
  const tree = (await p.run(md)) as HastRoot;
  return tree.children as ElementContent[];
}

interface PageContext {
  figures: number;
  usesVega: boolean;
  /** Widget views on the page (drawn by @jupyter-widgets/html-manager from the saved state). */
  widgets: number;
  renderVegaLite: (spec: unknown) => Promise<string>;
}

async function outputNode(o: Output, ctx: PageContext): Promise<ElementContent | null> {
  if (o.output_type === 'stream') {
    return h('pre', { className: ['output', 'stream', o.name === 'stderr' ? 'stderr' : 'stdout'] }, [
      text(stripAnsi(joinText(o.text))),
    ]);
  }
  if (o.output_type === 'error') {
    const tb = (o.traceback ?? []).map(stripAnsi).join('\n');
    return h('pre', { className: ['output', 'error'] }, [text(tb || `${o.ename}: ${o.evalue}`)]);
  }
  if (o.output_type !== 'display_data' && o.output_type !== 'execute_result' && o.output_type !== 'update_display_data')
    return null;
  const data = o.data ?? {};
  if (WIDGET_VIEW_MIME in data) {
    // html-manager draws the view in place of the script; the text shows until then (or without the state).
    ctx.widgets++;
    const view = JSON.stringify(data[WIDGET_VIEW_MIME]).replace(/</g, '\\u003c');
    return h('div', { className: ['output', 'widget'] }, [
      h('pre', { className: ['widget-fallback'] }, [text(stripAnsi(joinText(data['text/plain'] ?? '')))]),
      h('script', { type: WIDGET_VIEW_MIME }, [text(view)]),
    ]);
  }
  const vlMime = VEGA_LITE_MIMES.find((m) => m in data);
  if (vlMime) {
    const spec = data[vlMime];
    const n = ++ctx.figures;
    const id = `figure-${n}`;
    const svg = data['image/svg+xml'] !== undefined ? joinText(data['image/svg+xml']) : await ctx.renderVegaLite(spec);
    ctx.usesVega = true;
    const json = JSON.stringify(spec).replace(/</g, '\\u003c');
    return h('figure', { className: ['output', 'vega-figure'], dataVegaId: id }, [
      h('div', { className: ['vega-static'] }, [raw(prefixSvgIds(svg, id))]),
      h('script', { type: 'application/json', id: `${id}-spec` }, [text(json)]),
    ]);
  }
  if ('text/html' in data) return h('div', { className: ['output', 'html'] }, [raw(joinText(data['text/html']))]);
  if ('image/svg+xml' in data) {
    const id = `figure-${++ctx.figures}`;
    return h('div', { className: ['output', 'image', 'svg'] }, [
      raw(prefixSvgIds(joinText(data['image/svg+xml']), id)),
    ]);
  }
  for (const mime of ['image/png', 'image/jpeg', 'image/gif']) {
    if (mime in data) {
      ctx.figures++;
      const b64 = joinText(data[mime]).replace(/\s+/g, '');
      return h('div', { className: ['output', 'image'] }, [
        h('img', { src: `data:${mime};base64,${b64}`, alt: joinText(data['text/plain']) || 'image output' }),
      ]);
    }
  }
  if ('text/markdown' in data)
    return h('div', { className: ['output', 'markdown'] }, await markdownToHast(joinText(data['text/markdown'])));
  if ('application/json' in data)
    return h('pre', { className: ['output', 'json'] }, [text(JSON.stringify(data['application/json'], null, 2))]);
  if ('text/plain' in data)
    return h('pre', { className: ['output', 'text'] }, [text(stripAnsi(joinText(data['text/plain'])))]);
  return null;
}

async function cellNode(cell: Cell, index: number, ctx: PageContext): Promise<Element> {
  if (cell.cell_type === 'markdown') {
    return h(
      'section',
      { className: ['cell', 'markdown'], id: cell.id ? `cell-${cell.id}` : `cell-${index + 1}` },
      await markdownToHast(cell.source),
    );
  }
  if (cell.cell_type === 'raw') {
    return h('section', { className: ['cell', 'raw'] }, [h('pre', { className: ['raw'] }, [text(cell.source)])]);
  }
  const outputs: ElementContent[] = [];
  for (const o of cell.outputs ?? []) {
    const n = await outputNode(o, ctx);
    if (n) outputs.push(n);
  }
  const count = cell.execution_count != null ? String(cell.execution_count) : ' ';
  return h('section', { className: ['cell', 'code'], id: cell.id ? `cell-${cell.id}` : `cell-${index + 1}` }, [
    h('div', { className: ['input'] }, [
      h('span', { className: ['prompt'] }, [text(`[${count}]`)]),
      h('pre', {}, [h('code', { className: ['language-ts'] }, [text(cell.source)])]),
    ]),
    ...(outputs.length ? [h('div', { className: ['outputs'] }, outputs)] : []),
  ]);
}

/** Links between notebooks (`02-resnet.ipynb#x`) point at their pages. */
function rewriteNotebookLinks(tree: HastRoot): void {
  visit(tree, 'element', (el: Element) => {
    const href = el.tagName === 'a' ? el.properties?.href : undefined;
    if (typeof href === 'string') {
      const m = /^([^/:?#]+)\.ipynb(#.*)?$/.exec(href);
      if (m) el.properties.href = `${m[1]}.html${m[2] ?? ''}`;
    }
  });
}

/**
 * Images the prose shows from the notebooks' folder (`![..](figures/x.svg)`) are copied beside the
 * pages at the same relative path, so the same markdown works in Jupyter, in the mirrors and here.
 * A missing file fails the build with its name; a path that leaves the notebooks' folder is refused.
 */
function copyProseImages(tree: HastRoot, page: string, sourceDir: string, outDir: string): number {
  let copied = 0;
  visit(tree, 'element', (el: Element) => {
    const src = el.tagName === 'img' ? el.properties?.src : undefined;
    if (typeof src !== 'string' || /^(data:|[a-z][a-z0-9+.-]*:|\/\/|\/)/i.test(src)) return;
    const rel = decodeURIComponent(src.split(/[?#]/)[0]);
    const from = path.resolve(sourceDir, rel);
    if (path.relative(sourceDir, from).startsWith('..'))
      throw new Error(`site: ${page} shows the image ${src}, which is outside ${sourceDir}`);
    if (!fs.existsSync(from)) throw new Error(`site: ${page} shows the image ${src}, but ${from} does not exist`);
    const to = path.join(outDir, path.relative(sourceDir, from));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    copied++;
  });
  return copied;
}

function navNode(pages: SitePage[], i: number | null, where: 'top' | 'bottom'): Element {
  const links: ElementContent[] = [h('a', { href: 'index.html', className: ['nav-index'] }, [text('Contents')])];
  if (i !== null) {
    if (i > 0)
      links.push(
        h('a', { href: pages[i - 1].file, rel: ['prev'], className: ['nav-prev'] }, [text(`← ${pages[i - 1].title}`)]),
      );
    if (i < pages.length - 1)
      links.push(
        h('a', { href: pages[i + 1].file, rel: ['next'], className: ['nav-next'] }, [text(`${pages[i + 1].title} →`)]),
      );
  }
  return h('nav', { className: ['site-nav', `site-nav-${where}`] }, links);
}

function pageDocument(
  title: string,
  body: ElementContent[],
  opts: { vega: boolean; courseTitle: string; widgetState?: unknown },
): HastRoot {
  const widgets = opts.widgetState
    ? [
        h('script', { type: WIDGET_STATE_MIME }, [text(JSON.stringify(opts.widgetState).replace(/</g, '\\u003c'))]),
        h('script', { src: 'assets/widgets/embed.js' }, []),
      ]
    : [];
  const css = (href: string) => h('link', { rel: ['stylesheet'], href });
  const js = (src: string) => h('script', { src }, []);
  return {
    type: 'root',
    children: [
      { type: 'doctype' } as HastContent,
      h('html', { lang: 'en' }, [
        h('head', {}, [
          h('meta', { charSet: 'utf-8' }),
          h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
          h('link', { rel: ['icon'], href: 'data:,' }),
          h('title', {}, [text(title === opts.courseTitle ? title : `${title} · ${opts.courseTitle}`)]),
          css('assets/katex/katex.min.css'),
          css('assets/highlight.css'),
          css('assets/site.css'),
          ...(opts.vega
            ? [js('assets/vega.min.js'), js('assets/vega-lite.min.js'), js('assets/vega-embed.min.js')]
            : []),
        ]),
        h('body', {}, [h('main', {}, body), ...(opts.vega ? [js('assets/site.js')] : []), ...widgets]),
      ]),
    ],
  };
}

async function renderDocument(tree: HastRoot): Promise<string> {
  const p = unified()
    .use(rehypeKatex, { strict: false })
    .use(rehypeHighlight)
    .use(rehypeStringify, { allowDangerousHtml: true });
  const out = (await p.run(tree)) as HastRoot;
  return p.stringify(out) + '\n';
}

function firstExisting(...candidates: string[]): string {
  const f = candidates.find((c) => fs.existsSync(c));
  if (!f) throw new Error(`site: none of ${candidates.join(', ')} exists (npm ci?)`);
  return f;
}

function copyAssets(root: string, outDir: string): void {
  const nm = path.join(root, 'node_modules');
  const assets = path.join(outDir, 'assets');
  // The KaTeX that rehype-katex renders with (its CSS must match its HTML).
  const katexDist = path.dirname(
    firstExisting(
      path.join(nm, 'rehype-katex', 'node_modules', 'katex', 'dist', 'katex.min.css'),
      path.join(nm, 'katex', 'dist', 'katex.min.css'),
    ),
  );
  fs.mkdirSync(path.join(assets, 'katex'), { recursive: true });
  fs.copyFileSync(path.join(katexDist, 'katex.min.css'), path.join(assets, 'katex', 'katex.min.css'));
  fs.cpSync(path.join(katexDist, 'fonts'), path.join(assets, 'katex', 'fonts'), { recursive: true });
  fs.copyFileSync(
    firstExisting(
      path.join(nm, 'highlight.js', 'styles', 'github.min.css'),
      path.join(nm, 'lowlight', 'node_modules', 'highlight.js', 'styles', 'github.min.css'),
    ),
    path.join(assets, 'highlight.css'),
  );
  fs.copyFileSync(firstExisting(path.join(nm, 'vega', 'build', 'vega.min.js')), path.join(assets, 'vega.min.js'));
  fs.copyFileSync(
    firstExisting(path.join(nm, 'vega-lite', 'build', 'vega-lite.min.js')),
    path.join(assets, 'vega-lite.min.js'),
  );
  fs.copyFileSync(
    firstExisting(path.join(nm, 'vega-embed', 'build', 'vega-embed.min.js')),
    path.join(assets, 'vega-embed.min.js'),
  );
  // @jupyter-widgets/html-manager's standalone bundle (controls, output, their CSS and icon fonts):
  // it draws the widgets of a page from the state the notebook runner saved.
  const embedDir = path.dirname(firstExisting(path.join(nm, '@jupyter-widgets', 'html-manager', 'dist', 'embed.js')));
  fs.mkdirSync(path.join(assets, 'widgets'), { recursive: true });
  for (const f of fs.readdirSync(embedDir))
    if (!/amd|\.map$|LICENSE/.test(f)) fs.copyFileSync(path.join(embedDir, f), path.join(assets, 'widgets', f));
  const here = path.join(root, 'tools', 'notebook-md', 'site-assets');
  for (const f of ['site.css', 'site.js']) fs.copyFileSync(path.join(here, f), path.join(assets, f));
}

/** Empties outDir, refusing a non-empty folder that is not a site this built. */
function prepareOutDir(outDir: string): void {
  if (fs.existsSync(outDir)) {
    const entries = fs.readdirSync(outDir);
    if (entries.length > 0 && !entries.includes(MARKER_FILE)) {
      throw new Error(`site: ${outDir} is not empty and was not made by npm run site; not deleting it`);
    }
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, MARKER_FILE), 'made by npm run site; emptied on every build\n');
}

const codeOf = (nb: Notebook) => JSON.stringify(nb.cells.map((c) => [c.cell_type, c.source]));

interface SiteInput {
  name: string;
  nb: Notebook;
  executed: boolean;
  stale: boolean;
}

/** Each source notebook with its executed copy when there is one (warning when that copy is stale). */
function siteInputs(opts: SiteOptions, log: (line: string) => void): SiteInput[] {
  const sources = listNotebooks(opts.sourceDir);
  if (sources.length === 0) throw new Error(`site: no notebooks in ${opts.sourceDir}`);
  const inputs: SiteInput[] = [];
  const missing: string[] = [];
  for (const src of sources) {
    const name = path.basename(src, '.ipynb');
    const source = readNotebook(src);
    const exe = path.join(opts.executedDir, `${name}.ipynb`);
    if (fs.existsSync(exe)) {
      const nb = readNotebook(exe);
      const stale = codeOf(nb) !== codeOf(source);
      if (stale)
        log(
          `WARNING: ${path.relative(process.cwd(), exe)} was executed from an older ${name}.ipynb (run npm run notebooks again)`,
        );
      inputs.push({ name, nb, executed: true, stale });
    } else {
      missing.push(name);
      inputs.push({ name, nb: source, executed: false, stale: false });
    }
  }
  if (missing.length) {
    const msg = `no executed copy of ${missing.join(', ')} in ${path.relative(process.cwd(), opts.executedDir) || '.'}: run \`npm run notebooks\` first`;
    if (opts.requireExecuted) throw new Error(`site: ${msg}`);
    log(
      `${msg}; building ${missing.length === sources.length ? 'every page' : 'those pages'} from the source notebooks, without outputs`,
    );
  }
  return inputs;
}

let vegaRenderer: ((spec: unknown) => Promise<string>) | undefined;

/** Writes page i (its cells, notes, navigation, figures copied beside it); returns its figure count. */
async function writePage(
  input: SiteInput,
  pages: SitePage[],
  i: number,
  opts: SiteOptions & { courseTitle: string },
): Promise<number> {
  const ctx: PageContext = {
    figures: 0,
    usesVega: false,
    widgets: 0,
    renderVegaLite: async (spec) => {
      vegaRenderer ??= (await import('../../src/plot/render')).renderSvgAsync as (spec: unknown) => Promise<string>;
      return vegaRenderer(spec);
    },
  };
  const cells: ElementContent[] = [];
  for (const [j, c] of input.nb.cells.entries()) cells.push(await cellNode(c, j, ctx));
  const notes: ElementContent[] = [];
  if (!input.executed)
    notes.push(
      h('p', { className: ['note'] }, [
        text('This page shows the notebook without outputs: run `npm run notebooks`, then `npm run site`.'),
      ]),
    );
  if (input.stale)
    notes.push(
      h('p', { className: ['note'] }, [text('The outputs below come from an older version of this notebook.')]),
    );
  const body: ElementContent[] = [
    navNode(pages, i, 'top'),
    ...notes,
    h('article', { className: ['notebook'] }, cells),
    navNode(pages, i, 'bottom'),
  ];
  const widgetState = ctx.widgets
    ? (input.nb.metadata.widgets as Record<string, unknown> | undefined)?.[WIDGET_STATE_MIME]
    : undefined;
  if (ctx.widgets && !widgetState)
    opts.log?.(`WARNING: ${input.name} shows widgets but its notebook has no saved widget state: their text is shown`);
  const tree = pageDocument(pages[i].title, body, { vega: ctx.usesVega, courseTitle: opts.courseTitle, widgetState });
  rewriteNotebookLinks(tree);
  copyProseImages(tree, `${input.name}.ipynb`, opts.sourceDir, opts.outDir);
  fs.writeFileSync(path.join(opts.outDir, pages[i].file), await renderDocument(tree));
  return ctx.figures;
}

/** The contents page: the notebooks in chapter order. */
/** demo.html: the page's layout; demo.js fills it (site-assets/demo.ts). */
async function writeDemoPage(pages: SitePage[], outDir: string, courseTitle: string, recipe: string): Promise<void> {
  const section = (title: string, id: string, lead: string, extra: ElementContent[] = []) =>
    h('section', { className: ['demo-section'], id: `${id}-section` }, [
      h('h2', {}, [text(title)]),
      h('p', {}, [text(lead)]),
      ...extra,
    ]);
  const body: ElementContent[] = [
    navNode(pages, null, 'top'),
    h('article', { className: ['demo'] }, [
      h('h1', {}, [text('The trained network, in your browser')]),
      h('p', {}, [
        text(`The network of the '${recipe}' recipe, trained by `),
        h('code', {}, [text('npm start')]),
        text(' and saved with '),
        h('code', {}, [text('net.save()')]),
        text(', loaded here by '),
        h('code', {}, [text('loadModel()')]),
        text(' and run by TensorFlow.js in this page: nothing is sent anywhere.'),
      ]),
      h('p', { id: 'demo-status', className: ['demo-status'] }, [text('Loading the model...')]),
      h('div', { className: ['demo-result'] }, [
        h('div', { id: 'demo-chosen', className: ['demo-chosen'] }, []),
        h('div', { id: 'demo-bars', className: ['demo-bars'] }, []),
      ]),
      section('Test images', 'demo-grid', 'The first 100 images of the test set. Click one to classify it.', [
        h('div', { id: 'demo-grid', className: ['demo-grid'] }, []),
      ]),
      section('Draw something', 'demo-pad', 'Draw a piece of clothing, white on black, as the data set has them.', [
        h('canvas', { id: 'demo-pad', className: ['demo-pad'], width: 280, height: 280 }, []),
        h('button', { id: 'demo-clear', type: 'button' }, [text('Clear')]),
      ]),
      h('section', { className: ['demo-section'], id: 'demo-wrong-section' }, [
        h('h2', {}, [text('What it gets wrong')]),
        h('p', {}, [
          text('Test images whose most probable class is not their label ('),
          h('span', { id: 'demo-wrong-count' }, []),
          text('), as true class → predicted class.'),
        ]),
        h('div', { id: 'demo-wrong', className: ['demo-wrong'] }, []),
      ]),
    ]),
    h('script', { src: 'assets/demo.js' }, []),
  ];
  const doc = pageDocument('The trained network, in your browser', body, { vega: false, courseTitle });
  fs.writeFileSync(path.join(outDir, 'demo.html'), await renderDocument(doc));
}

async function writeIndex(pages: SitePage[], outDir: string, courseTitle: string, demo: boolean): Promise<void> {
  const list = h(
    'ol',
    { className: ['toc'] },
    pages.map((p) =>
      h('li', {}, [h('a', { href: p.file }, [text(p.title)]), ...(p.executed ? [] : [text(' (without outputs)')])]),
    ),
  );
  const index = pageDocument(
    courseTitle,
    [
      navNode(pages, null, 'top'),
      h('article', { className: ['index'] }, [
        h('h1', {}, [text(courseTitle)]),
        h('p', {}, [text('The ResNet chapter of Dive into Deep Learning, as TypeScript notebooks on TensorFlow.js.')]),
        list,
        ...(demo
          ? [
              h('p', { className: ['demo-link'] }, [
                h('a', { href: 'demo.html' }, [text('The trained network, in your browser')]),
              ]),
            ]
          : []),
      ]),
    ],
    { vega: false, courseTitle },
  );
  fs.writeFileSync(path.join(outDir, 'index.html'), await renderDocument(index));
}

/** Builds the site; returns the pages in order. */
export async function buildSite(opts: SiteOptions): Promise<{ outDir: string; pages: SitePage[] }> {
  const log = opts.log ?? (() => {});
  const courseTitle = opts.title ?? 'ResNet in TypeScript';
  const inputs = siteInputs(opts, log);
  prepareOutDir(opts.outDir);
  copyAssets(opts.root, opts.outDir);
  const pages: SitePage[] = inputs.map((x) => ({
    name: x.name,
    file: `${x.name}.html`,
    title: titleOf(x.nb, x.name),
    executed: x.executed,
    stale: x.stale,
    figures: 0,
  }));
  for (const [i, input] of inputs.entries()) {
    pages[i].figures = await writePage(input, pages, i, { ...opts, courseTitle });
    log(
      `${pages[i].file}: ${pages[i].title} (${input.executed ? 'executed' : 'no outputs'}${pages[i].figures ? `, ${pages[i].figures} figure(s)` : ''})`,
    );
  }
  if (opts.demo) {
    const demo = await buildDemo({ root: opts.root, outDir: opts.outDir, recipe: opts.demo.recipe, log });
    await writeDemoPage(pages, opts.outDir, courseTitle, demo.recipe);
    log(
      `demo.html: the '${demo.recipe}' model from ${path.relative(opts.root, demo.modelDir)} (back ends ${demo.backends.join(', ')})`,
    );
  }
  await writeIndex(pages, opts.outDir, courseTitle, Boolean(opts.demo));
  return { outDir: opts.outDir, pages };
}

/**
 * Progress of a training epoch: in a notebook one line redrawn in place (like tqdm.notebook), a
 * terminal bar (cli-progress) when stderr is a TTY, a few plain lines otherwise (CI logs), or nothing.
 */
import { SingleBar, Presets } from 'cli-progress';
import { LiveDisplay, inNotebook } from '../display/display';

export type ProgressMode = 'auto' | 'display' | 'bar' | 'lines' | 'none';

/** How often the notebook line is redrawn at most (each redraw is one message to the front end). */
const DISPLAY_EVERY_MS = 500;

export interface EpochProgress {
  update(batch: number, imagesPerSecond: number): void;
  stop(): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function epochProgress(
  mode: ProgressMode,
  epoch: number,
  totalBatches: number,
  startBatch: number,
  batchSize: number,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): EpochProgress {
  const resolved = mode === 'auto' ? (inNotebook() ? 'display' : process.stderr.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, stop() {} };
  if (resolved === 'display') return displayProgress(epoch, totalBatches, startBatch, batchSize);
  if (resolved === 'bar') {
    const bar = new SingleBar(
      {
        format: `epoch ${epoch} |{bar}| {value}/{total} batches | {ips} img/s | ETA {eta_h}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
    bar.start(totalBatches, startBatch, { ips: '-', eta_h: '?' });
    return {
      update(batch, ips) {
        bar.update(batch, { ips: ips.toFixed(1), eta_h: formatEta(((totalBatches - batch) * batchSize) / ips) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  // Plain lines: about ten per epoch.
  const every = Math.max(1, Math.round(totalBatches / 10));
  return {
    update(batch, ips) {
      if (batch % every === 0 || batch === totalBatches) {
        log(
          `epoch ${epoch}: batch ${batch}/${totalBatches}, ${ips.toFixed(1)} img/s, ETA ${formatEta(((totalBatches - batch) * batchSize) / ips)}`,
        );
      }
    },
    stop() {},
  };
}

/**
 * The notebook form: one display (text/plain, stdout's colour, not stderr's red) updated in place
 * with update_display_data, at most every DISPLAY_EVERY_MS; stop() leaves the epoch's final line.
 */
function displayProgress(epoch: number, totalBatches: number, startBatch: number, batchSize: number): EpochProgress {
  const live = new LiveDisplay();
  const started = performance.now();
  let lastDraw = -Infinity;
  let last = { batch: startBatch, ips: NaN };
  const draw = (line: string) => live.show({ 'text/plain': line });
  draw(`epoch ${epoch}: batch ${startBatch}/${totalBatches}, starting`);
  return {
    update(batch, ips) {
      last = { batch, ips };
      const now = performance.now();
      if (now - lastDraw < DISPLAY_EVERY_MS && batch < totalBatches) return;
      lastDraw = now;
      const eta = formatEta(((totalBatches - batch) * batchSize) / ips);
      draw(`epoch ${epoch}: batch ${batch}/${totalBatches}, ${ips.toFixed(1)} img/s, ETA ${eta}`);
    },
    stop() {
      const seconds = (performance.now() - started) / 1000;
      draw(
        `epoch ${epoch}: ${last.batch}/${totalBatches} batches in ${formatEta(seconds)}` +
          (Number.isFinite(last.ips) ? `, ${last.ips.toFixed(1)} img/s` : ''),
      );
    },
  };
}

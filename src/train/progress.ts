/**
 * Progress of a training epoch: a terminal bar (cli-progress) when stderr is a TTY, a few plain
 * lines otherwise (CI logs, notebooks), or nothing.
 */
import { SingleBar, Presets } from 'cli-progress';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

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
  const resolved = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, stop() {} };
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

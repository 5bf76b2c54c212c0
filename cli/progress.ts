/**
 * One progress bar for a transfer, drawn on stderr with cli-progress only when
 * stderr is a terminal and --quiet is not set. Rate and ETA come from the
 * bytes moved in the last few seconds, so a resumed transfer does not count
 * the bytes it skipped as speed.
 */
import { Presets, SingleBar } from 'cli-progress';
import { bytes, duration, rate } from './format.js';

const WINDOW_MS = 5_000;

export interface ProgressOptions {
  enabled: boolean;
  /**
   * What the bytes moved in this run are called ("sent"): given, the bar
   * shows them apart from the skipped ones, so a resumed transfer does not
   * look as if it had moved what was already there.
   */
  moved?: string;
}

export class Progress {
  private bar: SingleBar | undefined;
  private value = 0;
  private samples: { t: number; v: number }[] = [];
  private lastDraw = 0;
  readonly startedAt = performance.now();
  private startValue = 0;
  private skipped = 0;
  private skipNote = '';
  private readonly moved: string | undefined;

  constructor(
    private total: number,
    private label: string,
    options: ProgressOptions,
  ) {
    this.moved = options.moved;
    if (options.enabled) {
      this.bar = new SingleBar(
        {
          format: '{label} |{bar}| {percentage}% | {done} | {speed} | ETA {remaining}',
          hideCursor: true,
          barsize: 30,
          fps: 10,
          stream: process.stderr,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      );
      this.bar.start(total, 0, this.payload());
    }
  }

  /** Bytes already there before this run (resume): shown, but not counted as speed. */
  skip(n: number, note = 'already there'): void {
    this.value += n;
    this.skipped += n;
    this.skipNote = note;
    this.startValue = this.value;
    this.samples = [];
    this.draw(true);
  }

  add(n: number): void {
    this.value += n;
    this.draw(false);
  }

  setLabel(label: string): void {
    this.label = label;
    this.draw(true);
  }

  /** Bytes per second over the recent window. */
  rate(): number {
    const last = this.samples.at(-1);
    const first = this.samples[0];
    if (!first || !last || last.t - first.t < 200) return 0;
    return ((last.v - first.v) * 1000) / (last.t - first.t);
  }

  /** Average rate of this run, excluding skipped bytes. */
  averageRate(): number {
    const ms = performance.now() - this.startedAt;
    return ms > 0 ? ((this.value - this.startValue) * 1000) / ms : 0;
  }

  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  stop(): void {
    if (this.bar) {
      this.bar.update(this.value, this.payload());
      this.bar.stop();
      this.bar = undefined;
    }
  }

  private draw(force: boolean): void {
    const now = performance.now();
    this.samples.push({ t: now, v: this.value });
    while (this.samples.length > 2 && now - (this.samples[0]?.t ?? now) > WINDOW_MS) this.samples.shift();
    if (!this.bar || (!force && now - this.lastDraw < 100)) return;
    this.lastDraw = now;
    this.bar.update(this.value, this.payload());
  }

  private doneText(): string {
    if (this.moved === undefined) return `${bytes(this.value)}/${bytes(this.total)}`;
    const skipped = this.skipped > 0 ? ` + ${bytes(this.skipped)} ${this.skipNote}` : '';
    return `${bytes(this.value - this.skipped)} ${this.moved}${skipped} of ${bytes(this.total)}`;
  }

  private payload(): Record<string, string> {
    const r = this.rate();
    return {
      label: this.label,
      done: this.doneText(),
      speed: r > 0 ? rate(r) : '-- MB/s',
      remaining: r > 0 ? duration((this.total - this.value) / r) : '--',
    };
  }
}

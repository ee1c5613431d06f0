/** Markdown tables and number formats for the bench output (paste-ready for the README). */
import * as hdr from 'hdr-histogram-js';

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, leftColumns = 1): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < leftColumns ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

export function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–';
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export function percent(share: number): string {
  return Number.isFinite(share) ? `${Math.round(share * 100)} %` : '–';
}

/** Milliseconds with sensible precision: 0.85, 12.3, 140. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

export interface Percentiles { readonly count: number; readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number }

/** Percentiles in ms from a compressed HdrHistogram of microseconds. */
export function percentiles(encoded: string): Percentiles {
  const histogram = hdr.decodeFromCompressedBase64(encoded);
  const at = (p: number) => (histogram.totalCount === 0 ? Number.NaN : histogram.getValueAtPercentile(p) / 1000);
  return { count: histogram.totalCount, p50: at(50), p99: at(99), p999: at(99.9), max: histogram.totalCount === 0 ? Number.NaN : histogram.maxValue / 1000 };
}

/** The percentile spectrum of one histogram, one line, for the open-loop run's held step. */
export function spectrum(encoded: string): string {
  const histogram = hdr.decodeFromCompressedBase64(encoded);
  if (histogram.totalCount === 0) return '(empty)';
  const points = [50, 75, 90, 95, 99, 99.9, 99.99];
  return [...points.map((p) => `p${p} ${ms(histogram.getValueAtPercentile(p) / 1000)}`), `max ${ms(histogram.maxValue / 1000)} ms`].join(' · ');
}

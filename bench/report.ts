/** Small helpers the benchmarks share: a latency recorder and the printed table with ratios. */

export class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  count = 0;

  record(ms: number): void {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count++] = ms;
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const sorted = this.samples.slice(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.floor((p / 100) * this.count))] ?? Number.NaN;
  }
}

export interface Row {
  scenario: string;
  impl: string;
  callers: number;
  transfersPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

export function formatTable(rows: readonly Row[], baseline = 'naive', unit = 'transfers/s'): string {
  const header = ['scenario', 'impl', 'callers', unit, 'p50 ms', 'p99 ms', `× ${baseline}`];
  const lines = rows.map((row) => {
    const base = rows.find((r) => r.impl === baseline && r.scenario === row.scenario && r.callers === row.callers);
    const ratio = base === undefined || row.impl === baseline ? '' : `${(row.transfersPerSecond / base.transfersPerSecond).toFixed(1)}×`;
    return [row.scenario, row.impl, String(row.callers), Math.round(row.transfersPerSecond).toLocaleString('en-US'), row.p50Ms.toFixed(2), row.p99Ms.toFixed(2), ratio];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}

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
  /** Per transfer: the bench process's CPU (callers and ledger), PostgreSQL's, and the database's counters. */
  cost?: { benchCpuMs: number; postgresCpuMs: number; boxBusyShare: number; othersShare: number; statements: number; commits: number; walSyncs: number };
}

/** A Markdown table (paste-ready for the README), with the cost columns when the rows carry them. */
export function formatTable(rows: readonly Row[], baseline = 'naive', unit = 'transfers/s'): string {
  const withCost = rows.some((row) => row.cost !== undefined);
  const header = ['scenario', 'impl', 'callers', unit, 'p50 ms', 'p99 ms', `× ${baseline}`,
    ...(withCost ? ['bench process CPU ms/transfer', 'PG CPU ms/transfer', 'box busy', 'others', 'statements/transfer', 'commits/transfer', 'WAL fsyncs/transfer'] : [])];
  const number = (value: number | undefined, digits: number) => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));
  const share = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '–' : `${Math.round(value * 100)} %`);
  const lines = rows.map((row) => {
    const base = rows.find((r) => r.impl === baseline && r.scenario === row.scenario && r.callers === row.callers);
    const ratio = base === undefined || row.impl === baseline ? '' : `${(row.transfersPerSecond / base.transfersPerSecond).toFixed(1)}×`;
    const cost = row.cost;
    return [row.scenario, row.impl, String(row.callers), Math.round(row.transfersPerSecond).toLocaleString('en-US'), row.p50Ms.toFixed(2), row.p99Ms.toFixed(2), ratio,
      ...(withCost ? [number(cost?.benchCpuMs, 3), number(cost?.postgresCpuMs, 3), share(cost?.boxBusyShare), share(cost?.othersShare), number(cost?.statements, 2), number(cost?.commits, 3), number(cost?.walSyncs, 3)] : [])];
  });
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < 2 ? '---' : '---:'))), ...lines.map(line)].join('\n');
}

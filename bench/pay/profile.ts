/**
 * `npm run bench:pay:profile` (bench:pay with `--profile`): which statements a payment sends, read from
 * pg_stat_statements (with `track_planning`) as the difference between two readings around a measured window.
 * Per statement: calls per payment, total and mean execution time (lock waits included), plan time per call, rows
 * and buffer pages touched per call (work done, unlike waiting), and its share of the window's server time — the list to fold from (issue 11).
 */
import pg from 'pg';
import { fixed, markdownTable } from './table.ts';

interface StatementReading { readonly query: string; readonly calls: number; readonly execMs: number; readonly planMs: number; readonly rows: number; readonly blocks: number }
export type StatementSnapshot = Map<string, StatementReading>;

export async function readStatements(client: pg.Client, database: string): Promise<StatementSnapshot> {
  const result = await client.query<{ id: string; query: string; calls: string; exec_ms: number; plan_ms: number; rows: string; blocks: string }>(
    `select s.queryid::text || ':' || s.toplevel::text as id, s.query, s.calls, s.total_exec_time as exec_ms, s.total_plan_time as plan_ms, s.rows, s.shared_blks_hit + s.shared_blks_read as blocks
       from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1`, [database]);
  return new Map(result.rows.map((r) => [r.id, { query: r.query, calls: Number(r.calls), execMs: r.exec_ms, planMs: r.plan_ms, rows: Number(r.rows), blocks: Number(r.blocks) }]));
}

/** The heaviest statements of a window, by server time (execution + planning), per payment. */
export function profileTable(before: StatementSnapshot, after: StatementSnapshot, payments: number, top = 25): string {
  const rows: Array<{ id: string; reading: StatementReading }> = [];
  for (const [id, now] of after) {
    const then = before.get(id);
    const reading = { query: now.query, calls: now.calls - (then?.calls ?? 0), execMs: now.execMs - (then?.execMs ?? 0), planMs: now.planMs - (then?.planMs ?? 0), rows: now.rows - (then?.rows ?? 0), blocks: now.blocks - (then?.blocks ?? 0) };
    if (reading.calls > 0) rows.push({ id, reading });
  }
  const serverMs = (r: StatementReading) => r.execMs + r.planMs;
  const total = rows.reduce((sum, r) => sum + serverMs(r.reading), 0);
  rows.sort((a, b) => serverMs(b.reading) - serverMs(a.reading));
  const perPay = (value: number) => value / Math.max(1, payments);
  const table = markdownTable(['statement', 'nested', 'calls/pay', 'exec ms/pay', 'mean exec ms', 'plan ms/call', 'rows/call', 'blocks/call', 'share'], rows.slice(0, top).map(({ id, reading: r }) => [
    `\`${describe(r.query)}\``, id.endsWith(':false') ? 'yes' : '', fixed(perPay(r.calls), 2), fixed(perPay(r.execMs), 3), fixed(r.execMs / r.calls, 3),
    fixed(r.planMs / r.calls, 3), fixed(r.rows / r.calls, 1), fixed(r.blocks / r.calls, 0), `${fixed((100 * serverMs(r)) / Math.max(1e-9, total), 1)} %`,
  ]));
  const topLevel = rows.filter((r) => r.id.endsWith(':true')).reduce((sum, r) => sum + r.reading.calls, 0);
  return `${table}\n\n${rows.length} distinct statements, ${fixed(perPay(topLevel), 1)} top-level calls and ${fixed(perPay(total), 3)} ms of server time (execute + plan) per payment over ${payments} payments.`;
}

/** One line of a statement: its first words and its tables, enough to find it in the source. */
function describe(query: string): string {
  const flat = query.replace(/\s+/g, ' ').trim();
  const comment = /^\/\*\s*([\w.-]+)\s*\*\//.exec(flat)?.[1];
  const tables = [...new Set([...flat.matchAll(/\b(?:from|into|update|join)\s+([a-z_][\w.]*)/gi)].map((m) => m[1]))].slice(0, 6).join(',');
  const head = flat.replace(/^\/\*.*?\*\/\s*/, '').slice(0, 48).replace(/\|/g, '¦');
  return `${comment === undefined ? '' : `${comment}: `}${head}${flat.length > 48 ? '…' : ''} [${tables}]`;
}

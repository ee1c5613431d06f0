/** The checker's report as text: a verdict per check, then the findings, then every answer seen. */
import type { CheckReport, Finding } from './checker.ts';

const FINDINGS_SHOWN = 15;

export function formatReport(report: CheckReport, meta: { seed: number; runDir: string; command: string }): string {
  const lines: string[] = [];
  const mark = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  lines.push(`Fault run, seed ${meta.seed}  (again: ${meta.command})`, `Logs: ${meta.runDir}`, '');
  lines.push('Operations (ok = acknowledged, failed = refused, unknown = never settled by an answer, resolved from the database):');
  for (const [op, c] of Object.entries(report.operations)) {
    lines.push(`  ${op.padEnd(7)} ${String(c.total).padStart(6)} ops  ${String(c.attempts).padStart(6)} requests  ok ${c.ok}  failed ${c.failed}  unknown→happened ${c.unknownResolvedHappened}  unknown→not ${c.unknownResolvedNot}`);
  }
  lines.push('');
  lines.push(`${mark(report.lost.length === 0)}  lost (acknowledged, not in the final state): ${report.lost.length}`);
  lines.push(`${mark(report.duplicated.length === 0)}  duplicated (money moved twice for one operation): ${report.duplicated.length}`);
  lines.push(`${mark(report.contradictions.length === 0)}  contradictions (an answer the final state denies): ${report.contradictions.length}`);
  for (const [kind, count] of Object.entries(report.contradictionKinds).sort((a, b) => b[1] - a[1])) lines.push(`        ${count} × ${kind}`);
  lines.push(`${mark(report.phantoms.length === 0)}  phantoms (in the database, asked by nobody): ${report.phantoms.length}`);
  lines.push(`${mark(report.balances.length === 0)}  balances recomputed from the operations vs the ledger: ${report.balances.length === 0 ? 'all equal' : `${report.balances.length} differ`}`);
  lines.push(`${mark(report.serverErrors.length === 0)}  server errors (5xx other than an honest 503; see koban.log): ${report.serverErrors.length}`);
  lines.push(`${mark(report.ledgerVerify.ok)}  koban ledger verify: ${report.ledgerVerify.summary.split('\n')[0] ?? ''}`);
  lines.push(`      premature SUCCESS (answered while unfinished; a contradiction only if it never finished): ${report.premature}`);
  lines.push('');
  lines.push('Recovery after each fault (first acknowledged operation sent after the fault ended):');
  for (const r of report.recovery) {
    const time = r.recoveredMs === null ? 'never' : `${(r.recoveredMs / 1000).toFixed(1)} s`;
    const notes = [r.unexpectedExits > 0 ? `Koban exited by itself ${r.unexpectedExits}×` : '', r.manualRestart ? 'needed a manual restart' : ''].filter((n) => n !== '').join(', ');
    lines.push(`${mark(r.ok)}  ${r.fault.padEnd(10)} ${time.padStart(8)}  ${r.detail}${notes === '' ? '' : `  — ${notes}`}`);
  }
  for (const [title, findings] of [['Lost', report.lost], ['Duplicated', report.duplicated], ['Contradictions', report.contradictions], ['Phantoms', report.phantoms], ['Balances', report.balances], ['Server errors', report.serverErrors]] as const) {
    if (findings.length === 0) continue;
    lines.push('', `${title}:`);
    for (const f of (findings as readonly Finding[]).slice(0, FINDINGS_SHOWN)) lines.push(`  ${f.op} ${f.opId}: ${f.message}`);
    if (findings.length > FINDINGS_SHOWN) lines.push(`  … and ${findings.length - FINDINGS_SHOWN} more (report.json)`);
  }
  if (!report.ledgerVerify.ok) lines.push('', 'ledger verify:', report.ledgerVerify.summary);
  lines.push('', 'Answers seen (op, HTTP status, result/state: count):');
  for (const [answer, count] of Object.entries(report.answers).sort((a, b) => b[1] - a[1])) lines.push(`  ${answer}: ${count}`);
  lines.push('', report.ok ? 'RESULT: PASS' : 'RESULT: FAIL');
  return lines.join('\n');
}

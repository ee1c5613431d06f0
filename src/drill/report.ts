/** The drill's report as a person reads it (the same facts as `--json`). */
import type { DrillReport } from './measure.ts';

const yen = (n: number): string => `¥${n.toLocaleString('en-US')}`;
const codes = (record: Readonly<Record<string, number>>): string =>
  Object.entries(record).length === 0 ? 'none' : Object.entries(record).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ×${n}`).join(', ');

export function formatReport(report: DrillReport): string {
  const a = report.attack;
  const fp = report.falsePositives;
  const lines = [
    'Koban drill: 7pay-style account takeover with ordinary customers mixed in',
    `  target ${report.target.url} (merchant API ${report.target.opaUrl}); ruleset version ${report.rulesetVersion}`,
    `  sources ${report.target.sourcesSpread ? `spread: attacker from ${report.target.attackerNetworks.join(', ')}` : 'NOT spread: every client comes from one address (target not on loopback, or binding refused)'}`,
    `  ${report.population.ordinary} ordinary customers, ${report.population.victims} victims, leaked list of ${report.population.leakedListEntries} entries; set-up ${report.timing.setupSec} s, run ${report.timing.runSec} s, attack from +${report.timing.attackStartSec} s`,
    `  mode: ${report.settings.assumeSessions === true ? 'attacker holds the victims\' phones and PINs (--assume-sessions)' : 'attacker has the leaked passwords only'}; operator response ${report.settings.respondAfterSec === null ? 'none' : `${String(report.settings.respondAfterSec)} s after each case opens`}`,
    '',
    'Attack',
    `  1 credential stuffing  ${a.stuffing.attempts} attempts: ${a.stuffing.challenged} met a second-factor challenge (right and wrong passwords alike), ${a.stuffing.invalidCredentials} wrong, ${a.stuffing.throttled} throttled, ${a.stuffing.passwordsConfirmed} right passwords confirmed, ${a.stuffing.other} other`,
    `  2 takeovers            ${a.takeovers.succeeded} accounts taken over (${a.takeovers.attempted} second-factor completions tried)`,
    `  3 stolen-card top-ups  cards added ${a.cardsAdded.succeeded}/${a.cardsAdded.attempted}; top-ups ${a.topUps.succeeded}/${a.topUps.attempted} completed (${yen(a.topUps.yen)})`,
    `  4 spending at stores   payments ${a.payments.succeeded}/${a.payments.attempted} (${yen(a.payments.yen)}), ${a.payments.insufficientFunds} for want of money; code mints refused ${a.codeMints.refused}`,
    '',
    'Figures',
    `  time to first alert          ${report.firstAlert === null ? 'no alert on any victim' : `${report.firstAlert.afterSec} s (${report.firstAlert.kind} → ${report.firstAlert.decision}: ${report.firstAlert.rules.join(', ')})`}`,
    `  time to containment          ${report.containment.status === 'contained' ? `${String(report.containment.afterSec)} s` : report.containment.status.replaceAll('_', ' ')} — ${report.containment.note}`,
    `  refused after containment    ${codes(report.containment.refusedBy)}`,
    `  money lost before containment ${yen(report.moneyLost.totalYen)} (victims' balances ${yen(report.moneyLost.fromVictimBalancesYen)}, stolen-card money spent ${yen(report.moneyLost.stolenCardMoneySpentYen)} of ${yen(report.moneyLost.stolenCardToppedUpYen)} topped up)`,
    `  false positives              ${fp.customersAffected} of ${report.population.ordinary} ordinary customers affected: ${fp.refusedActions} of ${fp.ordinaryActions} actions refused or challenged (${codes(fp.refusedByCode)}), ${fp.flaggedDecisions} flagged decisions, ${fp.casesOpened} cases, ${fp.walletsFrozen} wallets frozen`,
    `  ordinary actions by phase     ${Object.entries(fp.byPhase).map(([phase, n]) => `${phase} ${n}`).join(', ') || 'none'}`,
    ...(report.operator === null ? [] : [`  operator                     worked ${report.operator.casesWorked} cases: froze ${report.operator.victimsFrozen} victims' and ${report.operator.ordinaryFrozen} ordinary customers' wallets`]),
    `  flagged decisions by kind     attacker: ${codes(report.alertsByKind.attacker)}; ordinary: ${codes(report.alertsByKind.ordinary)}`,
    '',
    'Attack classes (goals: first alert < 60 s, containment < 120 s, loss per compromised account < ¥478)',
    ...report.classes.map((c) => [
      `  ${c.attack.padEnd(19)} first alert ${c.firstAlert === null ? 'none' : `${c.firstAlert.afterSec} s`}; containment ${c.containment.status === 'contained' ? `${String(c.containment.afterSec)} s` : c.containment.status.replaceAll('_', ' ')}; `
        + `${c.compromised}/${c.victims} accounts compromised, loss per compromised account mean ${yen(c.lossPerCompromisedYen.mean)} max ${yen(c.lossPerCompromisedYen.max)}; ${c.successes}/${c.attempts} attacker actions succeeded`,
      `  ${''.padEnd(19)} ${Object.entries(c.phases).map(([phase, n]) => `${phase} ${n}`).join(', ')}${c.passwordsConfirmed > 0 ? `; ${c.passwordsConfirmed} right passwords confirmed` : ''}`,
      ...(c.firstAlert === null ? [] : [`  ${''.padEnd(19)} first alert: ${c.firstAlert.what}`]),
      ...(Object.keys(c.refusals).length === 0 ? [] : [`  ${''.padEnd(19)} refused: ${codes(c.refusals)}`]),
    ]).flat(),
    '',
    'Decisions by rule (flagged decisions during the run; attacker = on victims\' accounts)',
    ...(report.decisionsByRule.length === 0 ? ['  none'] : report.decisionsByRule.map((r) => `  ${r.rule.padEnd(24)} ${r.action.padEnd(9)} attacker ${String(r.attacker).padStart(4)}   ordinary ${String(r.ordinary).padStart(4)}`)),
    ...(report.notes.length === 0 ? [] : ['', 'Notes', ...report.notes.map((n) => `  - ${n}`)]),
  ];
  return lines.join('\n');
}

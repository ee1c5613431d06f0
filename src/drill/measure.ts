/**
 * The figures, from the journal (what the drill's clients saw) and the operator API (what Koban decided).
 *
 * - Time to first alert: from the first stuffing attempt to the first flagged risk decision (challenge,
 *   review or deny; each opens or joins a case) on a victim's account.
 * - Time to containment: the attacker's money attempts are top-ups, payment-code mints and till payments.
 *   Contained at T when an attempt at T was refused by a defence (a rule, a limit, a freeze, a revoked
 *   session, a switch) and no attempt after T succeeded, while the attacker was still trying. An attempt
 *   refused for want of money is not a defence: an attacker who emptied every account was not contained.
 * - Money lost before containment: every yen the attacker spent at stores (all of it left before T), split
 *   into the victims' own balances and the stolen cards' money (what the card issuers will charge back).
 * - False positives: ordinary customers' actions refused or made harder (a second factor on their own
 *   phone), flagged decisions and cases on their accounts, and their wallets frozen by the operator.
 * - Passwords confirmed: what the attacker can *observe* at sign-in. On a new device a wrong password gets a
 *   decoy challenge just like a right one (src/identity/login/decoy.ts), so `second_factor_required` confirms
 *   nothing; only an answer a wrong password never gets does. Which challenges were decoys is Koban's secret
 *   and stays out of the attacker's figures.
 */
import type { Act, AttackClass, Phase } from './journal.ts';
import type { CaseView, RiskEventView } from './ops.ts';

export interface DrillReport {
  readonly target: { readonly url: string; readonly opaUrl: string; readonly sourcesSpread: boolean; readonly attackerNetworks: readonly string[] };
  readonly settings: Record<string, number | boolean | string | null>;
  readonly rulesetVersion: number;
  readonly timing: { readonly setupSec: number; readonly runSec: number; readonly attackStartSec: number };
  readonly population: { readonly ordinary: number; readonly victims: number; readonly leakedListEntries: number };
  readonly attack: {
    readonly stuffing: { readonly attempts: number; readonly invalidCredentials: number; readonly throttled: number; readonly challenged: number; readonly passwordsConfirmed: number; readonly other: number };
    readonly takeovers: { readonly attempted: number; readonly succeeded: number };
    readonly cardsAdded: PhaseCount;
    readonly topUps: PhaseCount & { readonly yen: number };
    readonly codeMints: PhaseCount;
    readonly payments: PhaseCount & { readonly yen: number; readonly insufficientFunds: number };
  };
  readonly firstAlert: { readonly afterSec: number; readonly kind: string; readonly decision: string; readonly rules: readonly string[] } | null;
  readonly containment: { readonly status: 'no_money_phase' | 'contained' | 'not_contained'; readonly afterSec: number | null; readonly refusedBy: Readonly<Record<string, number>>; readonly note: string };
  readonly moneyLost: { readonly totalYen: number; readonly fromVictimBalancesYen: number; readonly stolenCardMoneySpentYen: number; readonly stolenCardToppedUpYen: number };
  readonly falsePositives: {
    readonly ordinaryActions: number;
    readonly refusedActions: number;
    readonly refusedByCode: Readonly<Record<string, number>>;
    readonly secondFactorOnOwnPhone: number;
    readonly flaggedDecisions: number;
    readonly casesOpened: number;
    readonly walletsFrozen: number;
    readonly customersAffected: number;
    /** ok/tried per phase of the ordinary customers' actions (code_mint, payment, confirmation, look…). */
    readonly byPhase: Readonly<Record<string, string>>;
  };
  readonly operator: { readonly casesWorked: number; readonly victimsFrozen: number; readonly ordinaryFrozen: number } | null;
  readonly decisionsByRule: ReadonlyArray<{ readonly rule: string; readonly action: string; readonly attacker: number; readonly ordinary: number }>;
  /** Flagged decisions during the run by event kind (sign_in, top_up, payment…), on victims' and ordinary accounts. */
  readonly alertsByKind: { readonly attacker: Readonly<Record<string, number>>; readonly ordinary: Readonly<Record<string, number>> };
  /** One row per attack class run (issue 13's table), each against its own victims. */
  readonly classes: readonly ClassRow[];
  readonly notes: readonly string[];
}

export interface ClassRow {
  readonly attack: AttackClass;
  readonly victims: number;
  /** The first thing an operator sees: a flagged risk decision on a victim, or a platform-wide sign-in alert. */
  readonly firstAlert: { readonly afterSec: number; readonly what: string } | null;
  readonly containment: DrillReport['containment'];
  /** Victims the attacker held a session on (a takeover, or malware on the phone). */
  readonly compromised: number;
  readonly lossPerCompromisedYen: { readonly mean: number; readonly max: number };
  readonly attempts: number;
  readonly successes: number;
  /** ok/attempted per phase (stuffing, takeover, copied_cookie, credential_change, payment…). */
  readonly phases: Readonly<Record<string, string>>;
  /** Right passwords the stuffing could tell from wrong ones by the answer it got (`confirmsPassword`). */
  readonly passwordsConfirmed: number;
  /** What refused the attacker, by phase and code (`credential_change:pin:pin_reset_needs_strong_factor` …). */
  readonly refusals: Readonly<Record<string, number>>;
}

export interface PlatformAlertView { readonly occurredAt: string; readonly reasons: readonly string[] }

/** The row of one attack class: its attacker's acts, its victims, and the alerts on them (or platform-wide). */
export function measureClass(input: MeasureInput & { readonly attack: AttackClass; readonly platformAlerts: readonly PlatformAlertView[] }): ClassRow {
  const acts = input.acts.filter((a) => a.actor === 'attacker' && a.attack === input.attack);
  const flagged = input.events.filter((e) => e.accountId !== null && input.victims.has(e.accountId) && Date.parse(e.createdAt) >= input.attackStartMs)
    .map((e) => ({ atMs: Date.parse(e.createdAt), what: `${e.kind} → ${e.decision}: ${e.reasons.map((r) => r.rule).join(', ')}` }));
  const platform = input.attack === 'stuffing-slow'
    ? input.platformAlerts.filter((p) => Date.parse(p.occurredAt) >= input.attackStartMs).map((p) => ({ atMs: Date.parse(p.occurredAt), what: `platform sign-in alert: ${p.reasons.join(', ')}` }))
    : [];
  const first = [...flagged, ...platform].sort((a, b) => a.atMs - b.atMs)[0];
  const compromised = new Set(acts.filter((a) => a.ok && a.accountId !== null && (a.phase === 'takeover' || a.phase === 'copied_cookie')).map((a) => a.accountId ?? ''));
  const lost = new Map<string, number>();
  for (const a of acts) if (a.ok && a.phase === 'payment' && a.accountId !== null) lost.set(a.accountId, (lost.get(a.accountId) ?? 0) + a.amountMinor);
  const losses = [...compromised].map((id) => lost.get(id) ?? 0);
  const phases = okPerPhase(acts);
  return {
    attack: input.attack, victims: input.victims.size,
    firstAlert: first === undefined ? null : { afterSec: seconds(first.atMs - input.attackStartMs), what: first.what },
    containment: containment(acts, input.attackStartMs),
    compromised: compromised.size,
    lossPerCompromisedYen: { mean: losses.length === 0 ? 0 : Math.round(losses.reduce((t, n) => t + n, 0) / losses.length), max: losses.reduce((m, n) => Math.max(m, n), 0) },
    attempts: acts.length, successes: acts.filter((a) => a.ok).length, phases,
    passwordsConfirmed: acts.filter((a) => a.phase === 'stuffing' && confirmsPassword(a.code)).length,
    refusals: tally(acts.filter((a) => !a.ok && a.phase !== 'stuffing')),
  };
}

interface PhaseCount { readonly attempted: number; readonly succeeded: number; readonly refused: number }

/**
 * Sign-in answers a wrong password never gets, from a device the account does not remember: a session, or
 * the forced-reset answer. `second_factor_required` is not one: wrong passwords get a decoy challenge.
 */
const CONFIRMING_ANSWERS: ReadonlySet<string> = new Set(['signed_in', 'credentials_reset_required']);
const STUFFING_ANSWERS: ReadonlySet<string> = new Set(['invalid_credentials', 'rate_limited', 'second_factor_required', ...CONFIRMING_ANSWERS]);

export function confirmsPassword(code: string): boolean {
  return CONFIRMING_ANSWERS.has(code);
}

/** Answers that are not a defence acting: the attacker simply has no money left to take. */
const NOT_A_DEFENCE = new Set(['NO_SUFFICIENT_FUND']);
const MONEY_PHASES: ReadonlySet<Phase> = new Set(['top_up', 'code_mint', 'payment']);

export interface MeasureInput {
  readonly acts: readonly Act[];
  readonly events: readonly RiskEventView[];
  readonly cases: readonly CaseView[];
  readonly victims: ReadonlySet<string>;
  readonly ordinary: ReadonlySet<string>;
  readonly runStartMs: number;
  readonly attackStartMs: number;
}

export function measure(input: MeasureInput): Pick<DrillReport, 'attack' | 'firstAlert' | 'containment' | 'moneyLost' | 'falsePositives' | 'operator' | 'decisionsByRule' | 'alertsByKind'> {
  const attacker = input.acts.filter((a) => a.actor === 'attacker');
  const ordinaryActs = input.acts.filter((a) => a.actor === 'ordinary');
  const operatorActs = input.acts.filter((a) => a.actor === 'operator');
  const eventsInRun = input.events.filter((e) => Date.parse(e.createdAt) >= input.runStartMs);
  return {
    attack: attackCounts(attacker),
    firstAlert: firstAlert(eventsInRun, input),
    containment: containment(attacker, input.attackStartMs),
    moneyLost: moneyLost(attacker),
    falsePositives: falsePositives(ordinaryActs, operatorActs, eventsInRun, input),
    operator: operatorActs.length === 0 ? null : {
      casesWorked: operatorActs.length,
      victimsFrozen: operatorActs.filter((a) => a.ok && a.accountId !== null && input.victims.has(a.accountId)).length,
      ordinaryFrozen: operatorActs.filter((a) => a.ok && a.accountId !== null && input.ordinary.has(a.accountId)).length,
    },
    decisionsByRule: decisionsByRule(eventsInRun, input),
    alertsByKind: { attacker: byKind(eventsInRun, input.victims), ordinary: byKind(eventsInRun, input.ordinary) },
  };
}

function tally(acts: readonly Act[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of acts) out[`${a.phase}:${a.code}`] = (out[`${a.phase}:${a.code}`] ?? 0) + 1;
  return out;
}

function byKind(events: readonly RiskEventView[], accounts: ReadonlySet<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.accountId !== null && accounts.has(e.accountId)) out[e.kind] = (out[e.kind] ?? 0) + 1;
  return out;
}

function count(acts: readonly Act[], phase: Phase): PhaseCount {
  const of = acts.filter((a) => a.phase === phase);
  return { attempted: of.length, succeeded: of.filter((a) => a.ok).length, refused: of.filter((a) => !a.ok).length };
}

function attackCounts(acts: readonly Act[]): DrillReport['attack'] {
  const stuffing = acts.filter((a) => a.phase === 'stuffing');
  const payments = count(acts, 'payment');
  const topUps = count(acts, 'top_up');
  const takeovers = acts.filter((a) => a.phase === 'takeover');
  return {
    stuffing: {
      attempts: stuffing.length,
      invalidCredentials: stuffing.filter((a) => a.code === 'invalid_credentials').length,
      throttled: stuffing.filter((a) => a.code === 'rate_limited').length,
      challenged: stuffing.filter((a) => a.code === 'second_factor_required').length,
      passwordsConfirmed: stuffing.filter((a) => confirmsPassword(a.code)).length,
      other: stuffing.filter((a) => !STUFFING_ANSWERS.has(a.code)).length,
    },
    takeovers: { attempted: takeovers.length, succeeded: new Set(takeovers.filter((a) => a.ok).map((a) => a.accountId)).size },
    cardsAdded: count(acts, 'card_add'),
    topUps: { ...topUps, yen: sum(acts.filter((a) => a.phase === 'top_up' && a.ok)) },
    codeMints: count(acts, 'code_mint'),
    payments: { ...payments, yen: sum(acts.filter((a) => a.phase === 'payment' && a.ok)), insufficientFunds: acts.filter((a) => a.phase === 'payment' && a.code === 'NO_SUFFICIENT_FUND').length },
  };
}

function sum(acts: readonly Act[]): number {
  return acts.reduce((total, a) => total + a.amountMinor, 0);
}

function firstAlert(events: readonly RiskEventView[], input: MeasureInput): DrillReport['firstAlert'] {
  const onVictims = events.filter((e) => e.accountId !== null && input.victims.has(e.accountId) && Date.parse(e.createdAt) >= input.attackStartMs)
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const first = onVictims[0];
  if (first === undefined) return null;
  return { afterSec: seconds(Date.parse(first.createdAt) - input.attackStartMs), kind: first.kind, decision: first.decision, rules: first.reasons.map((r) => r.rule) };
}

function containment(attacker: readonly Act[], attackStartMs: number): DrillReport['containment'] {
  const money = attacker.filter((a) => MONEY_PHASES.has(a.phase)).sort((a, b) => a.atMs - b.atMs);
  const tookOver = attacker.some((a) => a.phase === 'takeover' && a.ok);
  if (!tookOver || money.length === 0) {
    return { status: 'no_money_phase', afterSec: null, refusedBy: {}, note: tookOver ? 'accounts were taken over but no money attempt was made in time' : 'no account was taken over: the attack ended at sign-in' };
  }
  const lastSuccess = money.reduce((index, a, i) => (a.ok ? i : index), -1);
  const after = money.slice(lastSuccess + 1);
  const defended = after.filter((a) => !NOT_A_DEFENCE.has(a.code));
  const refusedBy: Record<string, number> = {};
  for (const a of defended) refusedBy[`${a.phase}:${a.code}`] = (refusedBy[`${a.phase}:${a.code}`] ?? 0) + 1;
  const firstDefended = defended[0];
  if (firstDefended === undefined) {
    return { status: 'not_contained', afterSec: null, refusedBy, note: after.length === 0 ? 'the attacker\'s last money attempt succeeded' : 'the attacker stopped only when the accounts were empty' };
  }
  return { status: 'contained', afterSec: seconds(firstDefended.atMs - attackStartMs), refusedBy, note: `no attacker money attempt succeeded after this; ${defended.length} refused` };
}

function moneyLost(attacker: readonly Act[]): DrillReport['moneyLost'] {
  const byAccount = new Map<string, { topped: number; paid: number }>();
  for (const a of attacker) {
    if (!a.ok || a.accountId === null || (a.phase !== 'top_up' && a.phase !== 'payment')) continue;
    const entry = byAccount.get(a.accountId) ?? { topped: 0, paid: 0 };
    if (a.phase === 'top_up') entry.topped += a.amountMinor;
    else entry.paid += a.amountMinor;
    byAccount.set(a.accountId, entry);
  }
  let total = 0, fromVictims = 0, stolenSpent = 0, stolenToppedUp = 0;
  for (const { topped, paid } of byAccount.values()) {
    total += paid;
    stolenToppedUp += topped;
    stolenSpent += Math.min(paid, topped);
    fromVictims += Math.max(0, paid - topped);
  }
  return { totalYen: total, fromVictimBalancesYen: fromVictims, stolenCardMoneySpentYen: stolenSpent, stolenCardToppedUpYen: stolenToppedUp };
}

/** An ordinary typo answered `invalid_credentials` is the right answer, and so is a payment refused for want of money. */
function isFriction(a: Act): boolean {
  if (a.ok) return false;
  if (a.code.startsWith('typo:') || a.code === 'NO_SUFFICIENT_FUND') return false;
  return true;
}

function falsePositives(acts: readonly Act[], operatorActs: readonly Act[], events: readonly RiskEventView[], input: MeasureInput): DrillReport['falsePositives'] {
  const refused = acts.filter(isFriction);
  const refusedByCode: Record<string, number> = {};
  for (const a of refused) refusedByCode[`${a.phase}:${a.code}`] = (refusedByCode[`${a.phase}:${a.code}`] ?? 0) + 1;
  const flagged = events.filter((e) => e.accountId !== null && input.ordinary.has(e.accountId));
  const cases = input.cases.filter((c) => input.ordinary.has(c.accountId) && Date.parse(c.openedAt) >= input.runStartMs);
  const frozen = operatorActs.filter((a) => a.ok && a.accountId !== null && input.ordinary.has(a.accountId));
  const affected = new Set<string>([...refused, ...frozen].map((a) => a.accountId ?? '').filter((id) => id !== ''));
  for (const e of flagged) affected.add(e.accountId ?? '');
  return {
    ordinaryActions: acts.filter((a) => !a.code.startsWith('typo:')).length,
    refusedActions: refused.length,
    refusedByCode,
    secondFactorOnOwnPhone: acts.filter((a) => a.phase === 'sign_in' && a.code === 'second_factor_required').length,
    flaggedDecisions: flagged.length,
    casesOpened: cases.length,
    walletsFrozen: frozen.length,
    customersAffected: affected.size,
    byPhase: okPerPhase(acts),
  };
}

function okPerPhase(acts: readonly Act[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const phase of new Set(acts.map((a) => a.phase))) {
    const of = acts.filter((a) => a.phase === phase);
    out[phase] = `${of.filter((a) => a.ok).length}/${of.length}`;
  }
  return out;
}

function decisionsByRule(events: readonly RiskEventView[], input: MeasureInput): DrillReport['decisionsByRule'] {
  const rows = new Map<string, { rule: string; action: string; attacker: number; ordinary: number }>();
  for (const e of events) {
    const side = e.accountId !== null && input.victims.has(e.accountId) ? 'attacker' : e.accountId !== null && input.ordinary.has(e.accountId) ? 'ordinary' : null;
    if (side === null) continue;
    for (const reason of e.reasons) {
      const key = `${reason.rule}|${reason.action}`;
      const row = rows.get(key) ?? { rule: reason.rule, action: reason.action, attacker: 0, ordinary: 0 };
      row[side]++;
      rows.set(key, row);
    }
  }
  return [...rows.values()].sort((a, b) => b.attacker + b.ordinary - (a.attacker + a.ordinary));
}

export function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

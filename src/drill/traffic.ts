/**
 * The drill's timeline once the population exists: ordinary customers going about their day at human
 * pace, the attacker's four phases (credential stuffing from a block of networks, taking over the
 * accounts it can, stolen-card top-ups, rapid spending at stores), and optionally an operator working
 * the case queue. Everything is journaled; nothing here decides what counts as a success for Koban.
 */
import type { AddressPlan } from './addresses.ts';
import { addCard, completeSignInBySms, confirmWaitingByEmailCode, confirmWaitingByPasskey, confirmWaitingPayments, mintAsOwner, mintPaymentCode, signIn, topUp, type Outcome } from './customer-api.ts';
import { newBrowser, problemCode, type Browser, type Transport } from './http.ts';
import { shuffle, type Journal } from './journal.ts';
import type { Ops, RiskEventView } from './ops.ts';
import type { Outbox } from './outbox.ts';
import { sleep } from './outbox.ts';
import { STOLEN_CARDS, type DrillCustomer, type Population } from './population.ts';
import { chargeAtTill, type Store, type TillConfig } from './till.ts';

export interface TrafficContext {
  readonly transport: Transport;
  readonly base: string;
  readonly outbox: Outbox;
  readonly ops: Ops;
  readonly journal: Journal;
  readonly addresses: AddressPlan;
  readonly till: TillConfig;
  readonly stores: readonly Store[];
  readonly random: () => number;
  readonly endsAtMs: number;
  readonly stopped: () => boolean;
}

const INSUFFICIENT = 'NO_SUFFICIENT_FUND';
/** OPA's answer for a till payment waiting for the customer's confirmation in the wallet. */
const WAITING_FOR_CUSTOMER = 'REQUEST_ACCEPTED';
/** Cases about a merchant are keyed `merchant:<id>` (risk/rules/merchant-convergence.ts). */
const MERCHANT_SUBJECT = 'merchant:';
const RETRY_AFTER_REFUSAL_MS = 2_000;
/**
 * How long the attacker holding a victim's phone waits for a sign-in SMS before reading the silence as a
 * wrong password (a decoy challenge sends none). A right password's SMS arrives within a second or two on a
 * quiet box, but on a crowded one (a full test run) it took longer than 4 s now and then, the takeover was
 * recorded as `no_sms` and the drill test saw 2 of 3 accounts taken. The waits run beside the bots, so a
 * patient crew costs the stuffing nothing.
 */
const NO_SMS_AFTER_MS = 15_000;
const MIN_CHUNK_MINOR = 100;

export function running(ctx: TrafficContext): boolean {
  return !ctx.stopped() && Date.now() < ctx.endsAtMs;
}

/** Sleeps, but never past the end of the drill. */
export async function pause(ctx: TrafficContext, ms: number): Promise<void> {
  await sleep(Math.min(ms, Math.max(0, ctx.endsAtMs - Date.now())));
}

// ---------------------------------------------------------------- ordinary customers

/** Each ordinary action is, with this chance, the customer moving to a new phone (issue 13: "a few moving to a new phone"). */
const NEW_PHONE_CHANCE = 0.001;

/**
 * One ordinary customer: mostly paying at one of the stores (a code shown at the till, ¥150–¥2,800),
 * sometimes signing in again on their own phone, now and then with a typo first, and rarely moving to a new
 * phone (a new device at home: password and the SMS code, as anyone with a new phone does).
 */
export async function ordinaryCustomer(ctx: TrafficContext, customer: DrillCustomer, meanIntervalSec: number): Promise<void> {
  await pause(ctx, ctx.random() * meanIntervalSec * 1000);
  // A real customer's day: a few purchases (about ¥3,000–¥8,000 in all), many more looks at the balance and
  // the history, a sign-in now and then. The run compresses the day's actions, not its money: a customer
  // paying ¥1,500 every 8 s spends ¥40,000 in a drill, which no account budget should call ordinary.
  const daySpendMinor = ORDINARY_DAY_SPEND_MIN_MINOR + Math.round(ctx.random() * ORDINARY_DAY_SPEND_SPREAD_MINOR);
  let spentMinor = 0;
  while (running(ctx)) {
    const roll = ctx.random();
    if (roll < NEW_PHONE_CHANCE) await moveToNewPhone(ctx, customer);
    else if (roll < 0.35 && spentMinor < daySpendMinor) spentMinor += await ordinaryPayment(ctx, customer);
    else if (roll < 0.8) await ordinaryLook(ctx, customer);
    else await ordinarySignIn(ctx, customer);
    await pause(ctx, (0.5 + ctx.random()) * meanIntervalSec * 1000);
  }
}

const ORDINARY_DAY_SPEND_MIN_MINOR = 3_000;
const ORDINARY_DAY_SPEND_SPREAD_MINOR = 5_000;

/** Opening the wallet: the balance and the latest payments (a read that a freeze or a broken session would refuse). */
async function ordinaryLook(ctx: TrafficContext, customer: DrillCustomer): Promise<void> {
  const summary = await customer.home.request('GET', '/v1/wallet/summary');
  const code = summary.status === 200 ? 'ok' : problemCode(summary);
  ctx.journal.record({ actor: 'ordinary', phase: 'look', accountId: customer.customerId, ok: code === 'ok', code });
}

async function moveToNewPhone(ctx: TrafficContext, customer: DrillCustomer): Promise<void> {
  const phone = newBrowser(ctx.transport, ctx.base, customer.home.address);
  const started = await signIn(phone, customer.email, customer.password);
  const done = !started.ok ? started : started.value.status === 'signed_in' ? { ok: true as const, value: undefined } : await completeSignInBySms(phone, ctx.outbox, customer.phone, started.value.challengeId);
  ctx.journal.record({ actor: 'ordinary', phase: 'new_phone', accountId: customer.customerId, ok: done.ok, code: done.ok ? 'ok' : done.code });
  if (done.ok) customer.home = phone;
}

/**
 * Pays at a store; answers what left the wallet. A customer with a passkey proves it for the code (the `pay`
 * step-up: part of minting, not friction) and confirms a held payment with it; the hold itself is friction.
 */
async function ordinaryPayment(ctx: TrafficContext, customer: DrillCustomer): Promise<number> {
  const minted = await mintAsOwner(customer.home, customer.passkey);
  ctx.journal.record({ actor: 'ordinary', phase: 'code_mint', accountId: customer.customerId, ok: minted.ok, code: minted.ok ? 'ok' : minted.code });
  if (!minted.ok) return 0;
  const amount = 150 + Math.round(ctx.random() * 265) * 10;
  // A usual store most of the time, the others now and then.
  const usual = customer.index % Math.max(1, ctx.stores.length);
  const store = ctx.random() < 0.75 ? ctx.stores[usual] : ctx.stores[Math.floor(ctx.random() * ctx.stores.length)];
  if (store === undefined) return 0;
  await pause(ctx, 500 + ctx.random() * 1500); // the cashier scans it
  const result = await chargeAtTill(ctx.transport, ctx.till, store, minted.value, amount);
  ctx.journal.record({ actor: 'ordinary', phase: 'payment', accountId: customer.customerId, ok: result === 'SUCCESS', code: result === 'SUCCESS' ? 'ok' : result, amountMinor: amount });
  if (result === WAITING_FOR_CUSTOMER) return confirmHeldAsOwner(ctx, customer, amount);
  return result === 'SUCCESS' ? amount : 0;
}

/**
 * The owner confirms the held payment: with their passkey (on any phone: it is synced), or without one with the PIN
 * plus the code e-mailed to them (on the phone they have had for a day). Answers what left the wallet.
 */
async function confirmHeldAsOwner(ctx: TrafficContext, customer: DrillCustomer, amount: number): Promise<number> {
  const confirmed = customer.passkey === null
    ? await confirmWaitingByEmailCode(customer.home, ctx.outbox, customer.email, customer.pin)
    : await confirmWaitingByPasskey(customer.home, customer.passkey);
  const paid = confirmed.ok && confirmed.value === 'COMPLETED';
  const code = !confirmed.ok ? confirmed.code : paid ? 'ok' : confirmed.value === 'FAILED' ? 'NO_SUFFICIENT_FUND' : `confirmation_${confirmed.value}`;
  ctx.journal.record({ actor: 'ordinary', phase: 'confirmation', accountId: customer.customerId, ok: paid, code, amountMinor: amount });
  return paid ? amount : 0;
}

async function ordinarySignIn(ctx: TrafficContext, customer: DrillCustomer): Promise<void> {
  if (ctx.random() < 0.2) {
    const typo = await signIn(customer.home, customer.email, `${customer.password}x`);
    ctx.journal.record({ actor: 'ordinary', phase: 'sign_in', accountId: customer.customerId, ok: false, code: typo.ok ? typo.value.status : `typo:${typo.code}` });
    await pause(ctx, 1500);
  }
  const result = await signIn(customer.home, customer.email, customer.password);
  // On their own remembered phone a right password signs in directly; anything else is friction.
  const code = result.ok ? result.value.status : result.code;
  ctx.journal.record({ actor: 'ordinary', phase: 'sign_in', accountId: customer.customerId, ok: code === 'signed_in', code: code === 'signed_in' ? 'ok' : code });
  if (result.ok && result.value.status === 'second_factor_required') {
    // The customer has their phone: they type the SMS code, as they would.
    await completeSignInBySms(customer.home, ctx.outbox, customer.phone, result.value.challengeId);
  }
}

// ---------------------------------------------------------------- the attacker

interface ListEntry { readonly identifier: string; readonly password: string; readonly victim: DrillCustomer | null }

export interface AttackPlan {
  readonly assumeSessions: boolean;
  readonly concurrency: number;
  readonly unknownAccounts: number;
  readonly wrongPasswordsPerVictim: number;
  readonly stolenTopUpsPerAccount: number;
  readonly stolenTopUpMinor: number;
  readonly spendChunkMinor: number;
  readonly runTag: string;
}

/** The leaked list: each victim's reused password among wrong ones, and accounts Koban never had. */
export function leakedList(population: Population, plan: AttackPlan, random: () => number): ListEntry[] {
  const entries: ListEntry[] = [];
  for (const victim of population.victims) {
    for (let i = 0; i < plan.wrongPasswordsPerVictim; i++) entries.push({ identifier: victim.email, password: `spring${1990 + i}${victim.index}!`, victim });
    entries.push({ identifier: victim.email, password: victim.password, victim });
  }
  for (let i = 0; i < plan.unknownAccounts; i++) {
    entries.push({ identifier: `leak-${plan.runTag}-${i}@mail.example`, password: `password${i}`, victim: null });
  }
  return shuffle(entries, random);
}

/**
 * Phase 1 and what follows from it. A few bots work through the list, each attempt from the next address
 * in the block and with no cookies (a new device every time, as stuffing tools do). Every attempt on a new
 * device gets a second-factor challenge, right password or wrong (a wrong one gets a decoy): without
 * --assume-sessions that is where the attack ends; with it, the attacker holding the victim's phone asks for
 * the SMS and waits — only a right password's challenge sends one — answers with the code and goes on to
 * the money phases. The waits run beside the bots, as a crew with the phones in hand would.
 */
export async function attack(ctx: TrafficContext, population: Population, plan: AttackPlan): Promise<void> {
  const list = leakedList(population, plan, ctx.random);
  const moneyPhases: Array<Promise<void>> = [];
  const taken = new Set<string>();
  let next = 0;
  const bot = async (): Promise<void> => {
    while (running(ctx) && next < list.length) {
      const attempt = next++;
      const entry = list[attempt];
      if (entry === undefined) return;
      if (entry.victim !== null && taken.has(entry.victim.customerId)) continue;
      const device = newBrowser(ctx.transport, ctx.base, ctx.addresses.attacker(attempt));
      const result = await signIn(device, entry.identifier, entry.password);
      const code = result.ok ? result.value.status : result.code;
      ctx.journal.record({ actor: 'attacker', attack: '7pay', phase: 'stuffing', accountId: entry.victim?.customerId ?? null, ok: result.ok, code });
      if (!result.ok || entry.victim === null || result.value.status !== 'second_factor_required' || !plan.assumeSessions) continue;
      const victim = entry.victim;
      const challengeId = result.value.challengeId;
      moneyPhases.push((async () => {
        const took = await completeSignInBySms(device, ctx.outbox, victim.phone, challengeId, NO_SMS_AFTER_MS);
        ctx.journal.record({ actor: 'attacker', attack: '7pay', phase: 'takeover', accountId: victim.customerId, ok: took.ok, code: took.ok ? 'ok' : took.code });
        if (!took.ok || taken.has(victim.customerId)) return;
        taken.add(victim.customerId);
        await drainAccount(ctx, plan, victim, device);
      })().catch(() => undefined));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, plan.concurrency) }, bot));
  await Promise.all(moneyPhases);
}

/** Phases 3 and 4 on one taken account, from the attacker's device that holds its session. */
async function drainAccount(ctx: TrafficContext, plan: AttackPlan, victim: DrillCustomer, device: Browser): Promise<void> {
  const record = (phase: 'card_add' | 'top_up' | 'code_mint' | 'payment', outcome: Outcome<unknown> | string, amountMinor = 0) => {
    const ok = typeof outcome === 'string' ? outcome === 'SUCCESS' : outcome.ok;
    const code = typeof outcome === 'string' ? (ok ? 'ok' : outcome) : outcome.ok ? 'ok' : outcome.code;
    ctx.journal.record({ actor: 'attacker', attack: '7pay', phase, accountId: victim.customerId, ok, code, amountMinor });
  };
  // Phase 3: a stolen card (no 3-D Secure: the attacker does not have the cardholder's code), topped up several times a minute.
  const stolen = STOLEN_CARDS[victim.index % STOLEN_CARDS.length] ?? STOLEN_CARDS[0];
  if (running(ctx)) {
    const card = await addCard(device, ctx.outbox, victim.phone, stolen, 'STOLEN CARDHOLDER');
    record('card_add', card);
    for (let i = 0; card.ok && i < plan.stolenTopUpsPerAccount && running(ctx); i++) {
      const topped = await topUp(device, ctx.outbox, ctx.transport, victim, { fundingSourceId: card.value, amountMinor: plan.stolenTopUpMinor, passThreeDSecure: false });
      record('top_up', topped, plan.stolenTopUpMinor);
    }
  }
  // Phase 4: spend it all at stores, a carton of cigarettes at a time, as fast as the till takes codes.
  let chunk = plan.spendChunkMinor;
  const store = ctx.stores[0];
  while (running(ctx) && store !== undefined && chunk >= MIN_CHUNK_MINOR) {
    const minted = await mintPaymentCode(device);
    if (!minted.ok) {
      record('code_mint', minted);
      if (minted.code === 'http_401' || minted.code === 'unauthenticated' || minted.code === 'session_required') await retakeSession(ctx, victim, device);
      await pause(ctx, RETRY_AFTER_REFUSAL_MS);
      continue;
    }
    let result = await chargeAtTill(ctx.transport, ctx.till, store, minted.value, chunk);
    // The till waits for the customer's confirmation: the attacker holds the session and the PIN, and tries them.
    if (result === WAITING_FOR_CUSTOMER) {
      const confirmed = await confirmWaitingPayments(device, victim.pin);
      // A confirmed payment the ledger then refused is, in a drain, the balance running out.
      result = !confirmed.ok ? `confirmation:${confirmed.code}` : confirmed.value === 'COMPLETED' ? 'SUCCESS' : INSUFFICIENT;
    }
    record('payment', result, chunk);
    if (result === INSUFFICIENT) chunk = Math.floor(chunk / 2 / 100) * 100;
    else if (result !== 'SUCCESS') await pause(ctx, RETRY_AFTER_REFUSAL_MS);
  }
}

/** A revoked session is no obstacle to someone holding the password and the phone: sign in again. */
async function retakeSession(ctx: TrafficContext, victim: DrillCustomer, device: Browser): Promise<void> {
  const again = await signIn(device, victim.email, victim.password);
  if (again.ok && again.value.status === 'second_factor_required') {
    const took = await completeSignInBySms(device, ctx.outbox, victim.phone, again.value.challengeId, NO_SMS_AFTER_MS);
    ctx.journal.record({ actor: 'attacker', attack: '7pay', phase: 'takeover', accountId: victim.customerId, ok: took.ok, code: took.ok ? 'ok' : took.code });
  } else {
    ctx.journal.record({ actor: 'attacker', attack: '7pay', phase: 'takeover', accountId: victim.customerId, ok: again.ok && again.value.status === 'signed_in', code: again.ok ? again.value.status : again.code });
  }
}

// ---------------------------------------------------------------- the operator

/**
 * A simulated operator on watch: each case opened during the drill is worked `afterSec` seconds after it
 * opens, by freezing the wallet and revoking every session, without investigating (so an ordinary
 * customer's case is frozen too, and counted as such).
 */
export async function operatorOnWatch(ctx: TrafficContext, startedAtMs: number, afterSec: number, accountOf: ReadonlyMap<string, string>): Promise<void> {
  const handled = new Set<string>();
  while (running(ctx)) {
    try {
      for (const c of await ctx.ops.cases('open')) {
        const openedMs = Date.parse(c.openedAt);
        if (handled.has(c.id) || openedMs < startedAtMs || !accountOf.has(c.accountId) || Date.now() < openedMs + afterSec * 1000) continue;
        handled.add(c.id);
        const reason = 'koban drill: simulated operator response to the case';
        if (c.accountId.startsWith(MERCHANT_SUBJECT)) {
          // A merchant's case (money converging on it): suspend it everywhere and hold its payouts.
          const contained = await ctx.ops.containMerchant(c.accountId.slice(MERCHANT_SUBJECT.length), reason);
          ctx.journal.record({ actor: 'operator', phase: 'contain_merchant', accountId: c.accountId, ok: contained, code: contained ? 'ok' : 'contain_failed' });
          continue;
        }
        const frozen = await ctx.ops.act(c.id, 'freeze', reason);
        await ctx.ops.act(c.id, 'revoke-sessions', reason);
        ctx.journal.record({ actor: 'operator', phase: 'freeze', accountId: c.accountId, ok: frozen, code: frozen ? 'ok' : 'freeze_failed' });
      }
    } catch {
      // A failed read is retried on the next round; the operator does not give up on the queue.
    }
    await pause(ctx, 1_000);
  }
}

/** Collects flagged decisions while the drill runs (the API lists the newest 200). */
export async function watchAlerts(ctx: TrafficContext, into: Map<string, RiskEventView>): Promise<void> {
  while (running(ctx)) {
    try {
      for (const event of await ctx.ops.flaggedEvents()) into.set(event.id, event);
    } catch {
      // Retried on the next round.
    }
    await pause(ctx, 1_000);
  }
}


/**
 * The attack classes of issue 13 besides the 7pay replay (traffic.ts `attack`), each against its own victims:
 *
 * - `stuffing-slow`: a leaked list worked low and slow — one or two passwords per account, every attempt from
 *   an address of its own over many /24s, a try every second or so — so no per-address, per-network or
 *   per-account threshold sees it. Only a platform-wide signal can.
 * - `stolen-session`: malware on the victim's own phone holds the session cookie and can sign with the phone's
 *   device key; the thief uses both from their own networks and pays at stores just under every threshold.
 *   The same cookie copied off the phone without the key is tried too (it must be refused).
 * - `colluding-merchant`: the same stolen sessions pay order QRs of a merchant the crew onboarded (applied,
 *   approved, live key), just under every threshold.
 * - `sim-swap`: the thief has the victim's SMS (a swapped SIM) and a leaked password: tries recovery (SMS
 *   only), signs in on a new device, changes the e-mail to their own, the password and the charge PIN, then
 *   spends in steps below the thresholds, signing in again on a new device after each refusal.
 *
 * Everything is journaled with its class; what counts as a success for Koban is measure.ts's business.
 */
import { changeEmail, changePassword, completeSignInBySms, confirmWaitingByPasskey, confirmWaitingPayments, mintAsOwner, mintPaymentCode, passkeyCount, payOrderQr, recoverWithSmsOnly, registerPasskey, setPin, signIn, stepUp, type Outcome } from './customer-api.ts';
import { hijack, newBrowser, type Browser } from './http.ts';
import { shuffle, type AttackClass } from './journal.ts';
import type { ColludingMerchant } from './merchant-api.ts';
import { orderQr } from './merchant-api.ts';
import type { DrillCustomer } from './population.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from './soft-authenticator.ts';
import { chargeAtTill } from './till.ts';
import { pause, running, type TrafficContext } from './traffic.ts';

const SUCCESS = 'SUCCESS';
const INSUFFICIENT = 'NO_SUFFICIENT_FUND';
/** OPA's answer for a till payment waiting for the customer's confirmation. */
const WAITING_FOR_CUSTOMER = 'REQUEST_ACCEPTED';
const RETRY_AFTER_REFUSAL_MS = 2_000;
const MIN_CHUNK_MINOR = 100;
/** Low and slow: each stuffing bot waits this long between two attempts. */
const SLOW_STUFFING_PAUSE_MS = 1_000;
const SLOW_STUFFING_BOTS = 2;
/** How long a thief holding the victim's SIM waits for the sign-in SMS before reading the silence as a wrong password. */
const NO_SMS_AFTER_MS = 4_000;
/** A thief signing in again on a new device after a refusal gives up after this many devices. */
const NEW_DEVICES_MAX = 12;

export interface ScenarioContext extends TrafficContext {
  /** The largest amount that passes every per-payment threshold (read from the rules when the drill starts). */
  readonly chunkMinor: number;
  readonly merchant: ColludingMerchant | null;
  readonly runTag: string;
}

/** A spend attempt's outcome: SUCCESS, NO_SUFFICIENT_FUND, or what refused it. */
type Spend = (device: Browser, amountMinor: number) => Promise<string>;

function record(ctx: ScenarioContext, attack: AttackClass, victim: DrillCustomer | null, phase: Parameters<TrafficContext['journal']['record']>[0]['phase'], ok: boolean, code: string, amountMinor = 0): void {
  ctx.journal.record({ actor: 'attacker', attack, phase, accountId: victim?.customerId ?? null, ok, code: ok ? 'ok' : code, amountMinor });
}

function isInsufficient(code: string): boolean {
  return code === INSUFFICIENT || /insufficient/i.test(code);
}

/**
 * A code minted on `device`, charged at a store; a payment held for confirmation is confirmed with `pin`. The
 * thief holds no passkey (the victim's is on the victim's authenticator, never in the thief's hands), so the code
 * is asked for without a `pay` grant and held payments are confirmed with the PIN, as before passkeys; only a
 * passkey the thief managed to register on the account (`thiefPasskey`, sim-swap) would be used.
 */
function tillSpend(ctx: ScenarioContext, attack: AttackClass, victim: DrillCustomer, pin: () => string, thiefPasskey: () => SoftAuthenticator | null = () => null): Spend {
  return async (device, amountMinor) => {
    const own = thiefPasskey();
    const minted = await mintAsOwner(device, own);
    if (!minted.ok) {
      record(ctx, attack, victim, 'code_mint', false, minted.code);
      return minted.code;
    }
    const store = ctx.stores[Math.floor(ctx.random() * ctx.stores.length)] ?? ctx.stores[0];
    if (store === undefined) return 'no_store';
    let result = await chargeAtTill(ctx.transport, ctx.till, store, minted.value, amountMinor);
    if (result === WAITING_FOR_CUSTOMER) {
      const confirmed = own === null ? await confirmWaitingPayments(device, pin()) : await confirmWaitingByPasskey(device, own);
      result = !confirmed.ok ? `confirmation:${confirmed.code}` : confirmed.value === 'COMPLETED' ? SUCCESS : INSUFFICIENT;
    }
    record(ctx, attack, victim, 'payment', result === SUCCESS, result, amountMinor);
    return result;
  };
}

/** The colluding merchant mints an order QR for the amount; the stolen session pays it with the PIN. */
function orderQrSpend(ctx: ScenarioContext, merchant: ColludingMerchant, victim: DrillCustomer): Spend {
  return async (device, amountMinor) => {
    const order = await orderQr(ctx.transport, ctx.till.opaUrl, merchant, amountMinor, ctx.addresses.till());
    if (!order.ok) {
      record(ctx, 'colluding-merchant', victim, 'payment', false, `order_qr:${order.code}`, amountMinor);
      return order.code;
    }
    const paid = await payOrderQr(device, order.codeId, { pin: victim.pin });
    const result = !paid.ok ? paid.code : paid.value === 'COMPLETED' ? SUCCESS : `held:${paid.value}`;
    record(ctx, 'colluding-merchant', victim, 'payment', result === SUCCESS, result, amountMinor);
    return result;
  };
}

/**
 * Spends until the run ends: the chunk halves when the money runs out, a refusal waits and retries (an
 * attacker keeps trying), and `afterRefusal` may hand over another device (a new sign-in) or give up (null).
 */
async function drain(ctx: ScenarioContext, device: Browser, spend: Spend, afterRefusal: ((code: string) => Promise<Browser | null>) | null = null): Promise<void> {
  let chunk = ctx.chunkMinor;
  let current: Browser | null = device;
  while (running(ctx) && current !== null && chunk >= MIN_CHUNK_MINOR) {
    const result = await spend(current, chunk);
    if (result === SUCCESS) continue;
    if (isInsufficient(result)) {
      chunk = Math.floor(chunk / 2 / 100) * 100;
      continue;
    }
    await pause(ctx, RETRY_AFTER_REFUSAL_MS);
    if (afterRefusal !== null && running(ctx)) current = await afterRefusal(result);
  }
}

// ---------------------------------------------------------------- stuffing-slow

export async function stuffingSlow(ctx: ScenarioContext, victims: readonly DrillCustomer[], unknownAccounts: number): Promise<void> {
  const entries: Array<{ identifier: string; password: string; victim: DrillCustomer | null }> = [];
  for (const victim of victims) {
    // One or two tries per account: half the victims get one wrong password before the right one.
    if (victim.index % 2 === 0) entries.push({ identifier: victim.email, password: `autumn${2000 + victim.index}!`, victim });
    entries.push({ identifier: victim.email, password: victim.password, victim });
  }
  for (let i = 0; i < unknownAccounts; i++) entries.push({ identifier: `slow-${ctx.runTag}-${i}@mail.example`, password: `letmein${i}`, victim: null });
  const list = shuffle(entries, ctx.random);
  let next = 0;
  const bot = async (): Promise<void> => {
    while (running(ctx) && next < list.length) {
      const attempt = next++;
      const entry = list[attempt];
      if (entry === undefined) return;
      const device = newBrowser(ctx.transport, ctx.base, ctx.addresses.slowStuffer(attempt), false);
      const result = await signIn(device, entry.identifier, entry.password);
      const code = result.ok ? result.value.status : result.code;
      ctx.journal.record({ actor: 'attacker', attack: 'stuffing-slow', phase: 'stuffing', accountId: entry.victim?.customerId ?? null, ok: result.ok, code });
      await pause(ctx, SLOW_STUFFING_PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: SLOW_STUFFING_BOTS }, bot));
}

// ---------------------------------------------------------------- stolen-session and colluding-merchant

/** The copied cookie alone, from the thief's network: must be refused (the session is bound to the phone's key). */
async function tryCopiedCookie(ctx: ScenarioContext, attack: AttackClass, victim: DrillCustomer): Promise<void> {
  const copied = hijack(ctx.transport, victim.home, ctx.addresses.thief(victim.index, 99), false);
  const minted = await mintPaymentCode(copied);
  record(ctx, attack, victim, 'copied_cookie', minted.ok, minted.ok ? 'ok' : minted.code);
}

/**
 * Malware on the victim's own phone: the cookie and the phone's key (it signs through the browser). As
 * `stolen-session` it pays from the thief's own network; as `stolen-session-home` from the phone itself, on the
 * victim's home network, so nothing in the context differs from the owner's but the pace and the amounts.
 */
export async function stolenSession(ctx: ScenarioContext, victims: readonly DrillCustomer[], attack: 'stolen-session' | 'stolen-session-home'): Promise<void> {
  await Promise.all(victims.map(async (victim) => {
    await tryCopiedCookie(ctx, attack, victim);
    const address = attack === 'stolen-session-home' ? victim.home.address : ctx.addresses.thief(victim.index, 0);
    const malware = hijack(ctx.transport, victim.home, address, true);
    record(ctx, attack, victim, 'takeover', true, 'ok');
    await drain(ctx, malware, tillSpend(ctx, attack, victim, () => victim.pin));
  }));
}

export async function colludingMerchant(ctx: ScenarioContext, victims: readonly DrillCustomer[]): Promise<void> {
  const merchant = ctx.merchant;
  if (merchant === null) return;
  await Promise.all(victims.map(async (victim) => {
    await tryCopiedCookie(ctx, 'colluding-merchant', victim);
    const malware = hijack(ctx.transport, victim.home, ctx.addresses.thief(victim.index, 0), true);
    record(ctx, 'colluding-merchant', victim, 'takeover', true, 'ok');
    await drain(ctx, malware, orderQrSpend(ctx, merchant, victim));
  }));
}

// ---------------------------------------------------------------- sim-swap

/** Password plus the SMS code (the swapped SIM) on a brand-new device from the thief's next network. */
async function signInOnNewDevice(ctx: ScenarioContext, victim: DrillCustomer, credentials: { email: string; password: string }, hop: number): Promise<Browser | null> {
  const device = newBrowser(ctx.transport, ctx.base, ctx.addresses.thief(victim.index, hop));
  const started = await signIn(device, credentials.email, credentials.password);
  if (!started.ok || started.value.status === 'signed_in') {
    record(ctx, 'sim-swap', victim, 'takeover', started.ok, started.ok ? 'ok' : started.code);
    return started.ok ? device : null;
  }
  // A wrong password (or an identifier that no longer names the account) gets a decoy: the SIM stays silent.
  const took = await completeSignInBySms(device, ctx.outbox, victim.phone, started.value.challengeId, NO_SMS_AFTER_MS);
  record(ctx, 'sim-swap', victim, 'takeover', took.ok, took.ok ? 'ok' : took.code);
  return took.ok ? device : null;
}

export async function simSwap(ctx: ScenarioContext, victims: readonly DrillCustomer[]): Promise<void> {
  await Promise.all(victims.map(async (victim) => {
    let password = victim.password;
    let pin = victim.pin;
    const first = newBrowser(ctx.transport, ctx.base, ctx.addresses.thief(victim.index, 0));
    const newPassword = `taken ${ctx.runTag} ${victim.index} over`;
    const recovered = await recoverWithSmsOnly(first, ctx.outbox, victim, newPassword);
    record(ctx, 'sim-swap', victim, 'recovery', recovered.ok, recovered.ok ? 'ok' : recovered.code);
    if (recovered.ok) password = newPassword;
    let hop = 1;
    let email = victim.email;
    let device = await signInOnNewDevice(ctx, victim, { email, password }, hop++);
    if (device === null) return;
    const thiefMail = `thief-${ctx.runTag}-${victim.index}@drill.koban.example`;
    const emailChanged = await changeEmail(device, ctx.outbox, victim.phone, thiefMail);
    record(ctx, 'sim-swap', victim, 'credential_change', emailChanged.ok, emailChanged.ok ? 'ok' : `email:${emailChanged.code}`);
    // From now on the account answers to the thief's address: the victim's old one names nobody.
    if (emailChanged.ok) email = thiefMail;
    if (!recovered.ok) {
      const changed = await changePassword(device, ctx.outbox, { ...victim, password }, newPassword);
      record(ctx, 'sim-swap', victim, 'credential_change', changed.ok, changed.ok ? 'ok' : `password:${changed.code}`);
      if (changed.ok) password = newPassword;
    }
    const thiefPasskey = await outVotePasskey(ctx, victim, device);
    const thiefPin = '246813';
    const pinSet = await setPin(device, ctx.outbox, { ...victim, password, pin: thiefPin });
    record(ctx, 'sim-swap', victim, 'credential_change', pinSet.ok, pinSet.ok ? 'ok' : `pin:${pinSet.code}`);
    if (pinSet.ok) pin = thiefPin;
    // New device after new device: each refusal is answered by signing in again somewhere else.
    const nextDevice = async (): Promise<Browser | null> => (hop > NEW_DEVICES_MAX ? null : signInOnNewDevice(ctx, victim, { email, password }, hop++));
    device = device ?? await nextDevice();
    if (device !== null) await drain(ctx, device, tillSpend(ctx, 'sim-swap', victim, () => pin, () => thiefPasskey), nextDevice);
  }));
}

/**
 * A thief who sees the account has a passkey (`GET /v1/customer/factors`) tries to add one of their own with the
 * swapped SIM's SMS (step-up change_factors), which would let them pay like the owner, and a `pay` step-up by SMS.
 * Both must be refused once the account has a passkey. Without one the thief needs neither (the SMS does it all),
 * so an account without a passkey sees exactly the attack it saw before passkeys.
 */
async function outVotePasskey(ctx: ScenarioContext, victim: DrillCustomer, device: Browser): Promise<SoftAuthenticator | null> {
  const count = await passkeyCount(device);
  if (!count.ok || count.value === 0) return null;
  const own = createSoftAuthenticator(new URL(ctx.base).origin);
  const added = await registerPasskey(device, ctx.outbox, victim.phone, own, 'new phone');
  record(ctx, 'sim-swap', victim, 'passkey_add', added.ok, added.ok ? 'ok' : added.code);
  const payBySms: Outcome<string> = await stepUp(device, ctx.outbox, victim.phone, 'pay', { method: 'code' });
  record(ctx, 'sim-swap', victim, 'pay_step_up', payBySms.ok, payBySms.ok ? 'ok' : payBySms.code);
  return added.ok ? own : null;
}

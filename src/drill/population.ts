/**
 * The drill's people, made through the customer API before the clock starts: ordinary customers and the
 * attacker's future victims, each signed up from their own household network with a charge PIN, a card
 * that passed 3-D Secure, and a balance topped up from it. Victims reuse a password that is on the
 * attacker's leaked list (the 7pay premise); ordinary customers' passwords are not on it.
 *
 * The sandbox acquirer approves only a handful of card numbers, so every drill customer funds the set-up
 * balance from the same 3-D Secure card. Two rules would rightly refuse that (one card on many accounts,
 * many top-ups from one card), so set-up relaxes `shared_instrument` and `card_velocity` through the
 * operator API and puts them back before the clock starts. The attacker's stolen cards are other numbers,
 * never seen before the attack.
 */
import { randomBytes } from 'node:crypto';
import type { AddressPlan } from './addresses.ts';
import { addCard, establish, registerPasskey, setPin, signUp, topUp, type Person } from './customer-api.ts';
import { newBrowser, type Browser, type Transport } from './http.ts';
import type { Ops } from './ops.ts';
import type { Outbox } from './outbox.ts';
import { sleep } from './outbox.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from './soft-authenticator.ts';

/** Sandbox card that requires 3-D Secure and approves after it (sandbox/acquirer/README.md). */
export const SETUP_CARD = '4000000000003220';
/** The sandbox's cards that approve without 3-D Secure: the "stolen" ones. */
export const STOLEN_CARDS = ['4242424242424242', '5555555555554444', '3566002020360505', '378282246310005'] as const;
const PINS = ['480271', '593816', '720394', '615820', '847203', '306958', '952047', '138604'] as const;
const SETUP_RULES = ['shared_instrument', 'card_velocity'] as const;
/** Rule changes reach every Koban process within a second. */
export const RULES_SETTLE_MS = 1_500;

export interface DrillCustomer extends Person {
  readonly role: 'ordinary' | 'victim';
  readonly index: number;
  /** The customer's own phone: remembered device, home address (replaced when they move to a new phone). */
  home: Browser;
  readonly balanceMinor: number;
  /**
   * The customer's synced passkey (a software authenticator with user verification), or null without one. It
   * belongs to the person, not the phone: a customer who moves to a new phone keeps it. Only the owner's own
   * actions (traffic.ts) use it; malware on the phone and a SIM-swapper never hold it.
   */
  readonly passkey: SoftAuthenticator | null;
}

export interface Population {
  readonly ordinary: DrillCustomer[];
  readonly victims: DrillCustomer[];
  readonly runTag: string;
  /** When the last victim's set-up top-up completed. */
  readonly victimsFundedAtMs: number;
}

function newPerson(runTag: string, role: 'ordinary' | 'victim', index: number, phoneSerial: number): Person {
  const hex = randomBytes(6).toString('hex');
  return {
    email: `drill-${runTag}-${role === 'ordinary' ? 'o' : 'v'}${index}@drill.koban.example`,
    // Japanese mobile numbers in a block the drill uses alone: +81 90 7xxx xxxx.
    phone: `+81907${String(phoneSerial).padStart(7, '0')}`,
    password: role === 'victim' ? `summer ${hex} harbour` : `quiet ${hex} orchard lamp`,
    pin: PINS[index % PINS.length] ?? '480271',
    customerId: '',
  };
}

export async function createPopulation(input: {
  transport: Transport; base: string; outbox: Outbox; ops: Ops; addresses: AddressPlan; runTag: string; phoneBase: number;
  ordinary: number; victims: number; ordinaryBalanceMinor: number; victimBalanceMinor: number; concurrency: number; log: (line: string) => void;
  /** Customers made established this many days old (0: newcomers, minutes old), knowing these stores. */
  establishedDays: number; storeIds: readonly string[];
  /** Share of customers (of each role, spread evenly over the indices) who register a passkey in set-up: 0 to 1. */
  passkeyShare: number;
}): Promise<Population> {
  const restore = await relaxSetupRules(input.ops, input.runTag);
  try {
    // Victims first, so their set-up top-ups are the oldest by the time the attack starts.
    const plans: Array<{ role: 'ordinary' | 'victim'; index: number }> = [
      ...Array.from({ length: input.victims }, (_, index) => ({ role: 'victim' as const, index })),
      ...Array.from({ length: input.ordinary }, (_, index) => ({ role: 'ordinary' as const, index })),
    ];
    let victimsFundedAtMs = 0;
    const made: DrillCustomer[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plans.length) {
        const plan = plans[next++];
        if (plan === undefined) return;
        const serial = input.phoneBase + (plan.role === 'ordinary' ? 0 : 5_000) + plan.index;
        const person = newPerson(input.runTag, plan.role, plan.index, serial);
        const address = plan.role === 'ordinary' ? input.addresses.ordinary(plan.index) : input.addresses.victimHome(plan.index);
        const home = newBrowser(input.transport, input.base, address);
        const balanceMinor = plan.role === 'ordinary' ? input.ordinaryBalanceMinor : input.victimBalanceMinor;
        await setUpOne(home, input, person, balanceMinor);
        const passkey = hasPasskey(plan.index, input.passkeyShare) ? await addPasskey(home, input, person) : null;
        if (input.establishedDays > 0) await makeEstablished(input, person, plan.index);
        made.push({ ...person, role: plan.role, index: plan.index, home, balanceMinor, passkey });
        if (plan.role === 'victim') victimsFundedAtMs = Math.max(victimsFundedAtMs, Date.now());
        if (made.length % 5 === 0) input.log(`  set up ${made.length}/${plans.length} customers`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, input.concurrency) }, worker));
    const ordinary = made.filter((c) => c.role === 'ordinary').sort((a, b) => a.index - b.index);
    const victims = made.filter((c) => c.role === 'victim').sort((a, b) => a.index - b.index);
    await closeSetupCases(input.ops, new Set(made.map((c) => c.customerId)));
    return { ordinary, victims, runTag: input.runTag, victimsFundedAtMs };
  } finally {
    await restore();
  }
}

async function setUpOne(home: Browser, input: { transport: Transport; outbox: Outbox }, person: Person, balanceMinor: number): Promise<void> {
  const must = <T>(what: string, outcome: { ok: true; value: T } | { ok: false; code: string }): T => {
    if (!outcome.ok) throw new Error(`drill set-up: ${what} for ${person.email} was refused (${outcome.code})`);
    return outcome.value;
  };
  must('sign-up', await signUp(home, input.outbox, person));
  must('charge PIN', await setPin(home, input.outbox, person));
  const card = must('card', await addCard(home, input.outbox, person.phone, SETUP_CARD, 'DRILL CUSTOMER'));
  must('top-up', await topUp(home, input.outbox, input.transport, person, { fundingSourceId: card, amountMinor: balanceMinor, passThreeDSecure: true }));
}

/**
 * Whether customer `index` of a role has a passkey, for a share p: index i does when ⌊(i+1)p⌋ > ⌊ip⌋, so any
 * share is spread evenly (0.5: every other one; each attack class's victims, consecutive indices, get their share).
 */
export function hasPasskey(index: number, share: number): boolean {
  return Math.floor((index + 1) * share + 1e-9) > Math.floor(index * share + 1e-9);
}

/**
 * The last set-up step, after the card and the top-up (which take an SMS step-up only while the account has no
 * passkey): a synced passkey on the customer's own authenticator. From then on the account pays with it.
 */
async function addPasskey(home: Browser, input: { base: string; outbox: Outbox }, person: Person): Promise<SoftAuthenticator> {
  const authenticator = createSoftAuthenticator(new URL(input.base).origin);
  const added = await registerPasskey(home, input.outbox, person.phone, authenticator, 'drill phone');
  if (!added.ok) throw new Error(`drill set-up: adding a passkey for ${person.email} was refused (${added.code})`);
  return authenticator;
}

/**
 * An established customer (issue 13's victims are): the phone remembered `establishedDays` ago, the home
 * network, card and the chain's stores known as long, and a history of ¥2,000–¥6,000 a day over three
 * purchases — which sizes the account budget at the newcomer's default (three times the average day is
 * below ¥20,000), so established and new customers differ by their context, not by a bigger budget.
 */
async function makeEstablished(input: { transport: Transport; base: string; establishedDays: number; storeIds: readonly string[] }, person: Person, index: number): Promise<void> {
  const staff = newBrowser(input.transport, input.base, null, false);
  const aged = await establish(staff, person.customerId, { ageDays: input.establishedDays, dailySpendMinor: 2_000 + (index % 5) * 1_000, paymentsPerDay: 3, storeIds: input.storeIds });
  if (!aged.ok) throw new Error(`drill set-up: making ${person.email} established was refused (${aged.code}); the route exists only outside production`);
}

async function relaxSetupRules(ops: Ops, runTag: string): Promise<() => Promise<void>> {
  const { rules } = await ops.rules();
  const saved = rules.filter((rule) => (SETUP_RULES as readonly string[]).includes(rule.id));
  const reason = `koban drill ${runTag} set-up: every drill customer funds from the one sandbox 3-D Secure card`;
  for (const rule of saved) await ops.changeRule(rule.id, { enabled: false }, reason);
  await sleep(RULES_SETTLE_MS);
  return async () => {
    for (const rule of saved) await ops.changeRule(rule.id, { enabled: rule.enabled }, `koban drill ${runTag} set-up done: restored`);
    await sleep(RULES_SETTLE_MS);
  };
}

/** Set-up itself raises alerts (a new device adding a card): those cases are the drill's, not the attack's. */
async function closeSetupCases(ops: Ops, drillAccounts: ReadonlySet<string>): Promise<void> {
  for (const c of await ops.cases('open')) {
    if (drillAccounts.has(c.accountId)) await ops.close(c.id, 'inconclusive', 'koban drill set-up: the drill\'s own customers setting up their wallets');
  }
}

/**
 * `runDrill(options)`: replays a 7pay-style attack against a running Koban with ordinary customers'
 * traffic mixed in, and measures what Koban did about it (see measure.ts for the definitions). It talks
 * to Koban only over HTTP, like any client: the customer API, the development outbox for codes, the
 * merchant API as the stores' tills, and the operator API to read decisions and cases (and, with
 * `respondAfterSec`, to act on them). It creates customers and moves sandbox money, so it refuses a
 * Koban without the development outbox (which production never has) unless told otherwise.
 */
import { randomInt } from 'node:crypto';
import { addressPlan, canSpreadSources } from './addresses.ts';
import { createTransport, newBrowser } from './http.ts';
import { createJournal, seededRandom } from './journal.ts';
import { measure, measureClass, seconds, type DrillReport, type PlatformAlertView } from './measure.ts';
import type { AttackClass } from './journal.ts';
import { onboardColludingMerchant, type ColludingMerchant } from './merchant-api.ts';
import { signInOperator, type Ops, type RiskEventView, type RuleView } from './ops.ts';
import { colludingMerchant, simSwap, stolenSession, stuffingSlow, type ScenarioContext } from './scenarios.ts';
import type { DrillCustomer } from './population.ts';
import type { DrillOptions } from './options.ts';
import { createOutbox, sleep } from './outbox.ts';
import { createPopulation } from './population.ts';
import { attack, leakedList, operatorOnWatch, ordinaryCustomer, watchAlerts, type AttackPlan, type TrafficContext } from './traffic.ts';

export class DrillRefused extends Error {}

const SETUP_CONCURRENCY = 4;

export async function runDrill(options: DrillOptions, given: { ops?: Ops } = {}): Promise<DrillReport> {
  const log = options.log ?? (() => undefined);
  const transport = createTransport({ ca: options.caPem });
  try {
    const staff = newBrowser(transport, options.url, null, false);
    const outbox = createOutbox(staff);
    await refuseProduction(staff, outbox, options.allowProduction);
    const ops = given.ops ?? await signInOperator(newBrowser(transport, options.url, null, false), options.operator);
    const spread = await canSpreadSources(options.url);
    const runTagNumber = randomInt(0, 1_000_000);
    const runTag = runTagNumber.toString(36);
    const addresses = addressPlan(spread, options.attackerNetworks, runTagNumber);

    const attacks = options.attacks.length === 0 ? (['7pay'] as const) : options.attacks;
    log(`drill ${runTag}: setting up ${options.ordinaryCustomers} ordinary customers and ${options.victims} victims for each of ${attacks.join(', ')}`);
    const setupStartedMs = Date.now();
    const merchant = attacks.includes('colluding-merchant') ? await onboardColludingMerchant(newBrowser(transport, options.url, addresses.till(), false), ops, runTag) : null;
    const population = await createPopulation({
      transport, base: options.url, outbox, ops, addresses, runTag, phoneBase: randomInt(0, 900) * 10_000,
      ordinary: options.ordinaryCustomers, victims: options.victims * attacks.length, ordinaryBalanceMinor: options.ordinaryBalanceMinor,
      victimBalanceMinor: options.victimBalanceMinor, concurrency: SETUP_CONCURRENCY, log,
      establishedDays: options.establishedDays, storeIds: options.merchant.stores.map((store) => store.storeId), passkeyShare: options.passkeyShare,
    });
    const setupSec = seconds(Date.now() - setupStartedMs);
    const { rulesetVersion, rules } = await ops.rules();
    const groups = new Map<AttackClass, DrillCustomer[]>(attacks.map((name, k) => [name, population.victims.slice(k * options.victims, (k + 1) * options.victims)]));
    const sevenPay = { ...population, victims: groups.get('7pay') ?? [] };

    const journal = createJournal();
    const random = seededRandom(options.seed);
    const runStartMs = Date.now();
    const warmupMs = Math.max(Math.min(10_000, options.durationSec * 150), population.victimsFundedAtMs + options.victimQuietSec * 1000 - runStartMs);
    const attackStartMs = runStartMs + warmupMs;
    const ctx: TrafficContext = {
      transport, base: options.url, outbox, ops, journal, addresses, random, endsAtMs: attackStartMs + options.durationSec * 1000, stopped: () => false,
      till: { opaUrl: options.opaUrl, apiKey: options.merchant.apiKey, apiSecret: options.merchant.apiSecret, address: addresses.till() },
      stores: options.merchant.stores,
    };
    const plan: AttackPlan = {
      assumeSessions: options.assumeSessions, concurrency: options.attackerConcurrency, unknownAccounts: options.unknownAccounts,
      wrongPasswordsPerVictim: options.wrongPasswordsPerVictim, stolenTopUpsPerAccount: options.stolenTopUpsPerAccount,
      stolenTopUpMinor: options.stolenTopUpMinor, spendChunkMinor: options.spendChunkMinor, runTag,
    };
    const accountOf = new Map<string, string>([...population.ordinary, ...population.victims].map((c) => [c.customerId, c.role]));
    if (merchant !== null) accountOf.set(`merchant:${merchant.merchantId}`, 'merchant');
    const scenario: ScenarioContext = { ...ctx, chunkMinor: chunkUnderThresholds(rules), merchant, runTag };
    const watched = new Map<string, RiskEventView>();
    log(`drill ${runTag}: ordinary traffic from now, the attack from +${seconds(warmupMs)} s, for ${options.durationSec} s`);
    await Promise.all([
      ...population.ordinary.map((customer) => ordinaryCustomer(ctx, customer, options.ordinaryIntervalSec)),
      watchAlerts(ctx, watched),
      ...(options.respondAfterSec === null ? [] : [operatorOnWatch(ctx, runStartMs, options.respondAfterSec, accountOf)]),
      sleep(warmupMs).then(() => Promise.all(attacks.map((name) => runClass(name, scenario, groups.get(name) ?? [], sevenPay, plan, options.unknownAccounts * 4)))),
    ]);
    const runSec = seconds(Date.now() - runStartMs);

    log(`drill ${runTag}: reading Koban's decisions and cases`);
    for (const customerId of accountOf.keys()) for (const event of await ops.flaggedEvents(customerId)) watched.set(event.id, event);
    const cases = [...await ops.cases('open'), ...await ops.cases('closed')];
    const platformAlerts: PlatformAlertView[] = await ops.platformAlerts().catch(() => []);
    const measured = { acts: journal.acts, events: [...watched.values()], cases, runStartMs, attackStartMs, ordinary: new Set(population.ordinary.map((c) => c.customerId)) };
    const figures = measure({ ...measured, victims: new Set(population.victims.map((v) => v.customerId)) });
    const classes = attacks.map((name) => measureClass({ ...measured, attack: name, platformAlerts, victims: new Set((groups.get(name) ?? []).map((v) => v.customerId)) }));
    return {
      target: { url: options.url, opaUrl: options.opaUrl, sourcesSpread: spread, attackerNetworks: spread ? addresses.attackerNetworks() : [] },
      settings: {
        seed: options.seed, attacks: attacks.join(','), durationSec: options.durationSec, chunkMinor: scenario.chunkMinor, assumeSessions: options.assumeSessions, respondAfterSec: options.respondAfterSec,
        attackerNetworks: options.attackerNetworks, attackerConcurrency: options.attackerConcurrency, wrongPasswordsPerVictim: options.wrongPasswordsPerVictim,
        unknownAccounts: options.unknownAccounts, stolenTopUpsPerAccount: options.stolenTopUpsPerAccount, stolenTopUpMinor: options.stolenTopUpMinor,
        spendChunkMinor: options.spendChunkMinor, ordinaryIntervalSec: options.ordinaryIntervalSec, victimQuietSec: options.victimQuietSec, establishedDays: options.establishedDays, passkeyShare: options.passkeyShare, runTag,
      },
      rulesetVersion,
      timing: { setupSec, runSec, attackStartSec: seconds(warmupMs) },
      population: { ordinary: population.ordinary.length, victims: population.victims.length, leakedListEntries: leakedList(sevenPay, plan, seededRandom(options.seed)).length },
      ...figures,
      classes,
      notes: notes(options, spread),
    };
  } finally {
    transport.close();
  }
}

/** One attack class against its own victims. */
async function runClass(name: AttackClass, ctx: ScenarioContext, victims: DrillCustomer[], sevenPay: Parameters<typeof attack>[1], plan: AttackPlan, slowListUnknown: number): Promise<void> {
  if (name === '7pay') return attack(ctx, sevenPay, plan);
  if (name === 'stuffing-slow') return stuffingSlow(ctx, victims, slowListUnknown);
  if (name === 'stolen-session') return stolenSession(ctx, victims, 'stolen-session');
  if (name === 'stolen-session-home') return stolenSession(ctx, victims, 'stolen-session-home');
  if (name === 'colluding-merchant') return colludingMerchant(ctx, victims);
  return simSwap(ctx, victims);
}

/**
 * The largest payment that passes every per-payment threshold of the rules as they are now: at most
 * `unusual_context.smallAmountMinor` (payments up to it pass in an unusual context) and under
 * `new_device_high_value.amountMinMinor`. A thief who has read the rules spends in such steps.
 */
export function chunkUnderThresholds(rules: readonly RuleView[]): number {
  let chunk = 9_900;
  const param = (id: string, name: string): number | null => {
    const rule = rules.find((r) => r.id === id && r.enabled);
    const value = rule?.params[name];
    return typeof value === 'number' || typeof value === 'string' ? Number(value) : null;
  };
  const small = param('unusual_context', 'smallAmountMinor');
  if (small !== null && small >= 100) chunk = Math.min(chunk, small);
  const high = param('new_device_high_value', 'amountMinMinor');
  if (high !== null && high > 100) chunk = Math.min(chunk, high - 100);
  return chunk;
}

async function refuseProduction(staff: ReturnType<typeof newBrowser>, outbox: ReturnType<typeof createOutbox>, allowed: boolean): Promise<void> {
  const ready = await staff.request('GET', '/readyz');
  if (ready.status !== 200) throw new DrillRefused(`Koban at ${staff.base} is not ready (/readyz answered ${ready.status})`);
  if (await outbox.available()) return;
  if (!allowed) {
    throw new DrillRefused(`Koban at ${staff.base} has no development outbox, so it runs with NODE_ENV=production (or without dev tooling). `
      + 'A drill creates customers and moves sandbox money: run it against a development or staging Koban, or pass --allow-production if you truly mean it.');
  }
  throw new DrillRefused('--allow-production was given, but the drill reads its customers\' codes from the development outbox, which this Koban does not have');
}

function notes(options: DrillOptions, spread: boolean): string[] {
  return [
    ...(spread ? [] : ['Every client came from one source address: network rules (network_velocity, network_accounts, failure bursts per network) saw one network.']),
    ...(options.establishedDays > 0
      ? [`Every drill customer was made ${options.establishedDays} days old after set-up (POST /dev/drill/established-customers, not in production): phone, networks, card and the demo merchant's stores known that long, a history of ¥2,000–¥6,000 a day; the ledger holds only the set-up top-up. A phone the customer moves to in the run is new.`]
      : ['Every drill customer is new (devices first seen minutes ago), so new_device_high_value applies to ordinary customers too; their purchases stay under its ¥10,000 threshold, as most convenience-store purchases do.',
        ...(options.attacks.some((a) => a.startsWith('stolen-session') || a === 'colluding-merchant')
          ? ['--established-days 0: the victims\' "established" phones are minutes old, so a payment held for a strong confirmation (the PIN on a device known for a day) is refused to the malware here, where on a phone older than a day malware that read the PIN would pass it. stolen-session and colluding-merchant losses are a lower bound for that case.']
          : [])]),
    options.passkeyShare > 0
      ? `${Math.round(options.passkeyShare * 100)} % of the customers registered a synced software passkey in set-up and pay with it: a pay step-up for each code, a confirm_payment one for each held payment (counted as part of the action, a hold still as friction). Malware on the phone and the SIM-swapper never hold it.`
      : '--passkeys 0: no customer has a passkey; codes, order QRs and held payments go as before passkeys (the PIN).',
    'Ordinary customers do not top up during the run: the sandbox acquirer approves only a few card numbers, shared by every drill customer, and shared_instrument would (rightly, for real cards) refuse them.',
    `The attacker spends at the demo merchant's stores (category 5411), so resale_bulk (tobacco, electronics…) cannot fire; 7pay's thieves bought cigarettes at convenience stores, which a category code cannot see either.`,
    ...(options.assumeSessions ? ['--assume-sessions: the attacker answers every second factor and knows every charge PIN (the 7pay situation, where no second factor existed); the figures are an upper bound.'] : []),
    ...(options.victims > 8 ? ['More than 8 victims: the sandbox has 4 approvable "stolen" card numbers, so some stolen card sits on 3+ accounts and shared_instrument refuses it sooner than a real crew with more cards would see.'] : []),
  ];
}


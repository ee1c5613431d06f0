/**
 * Takeovers of **established** customers (issue 13, `koban drill` with established victims): malware on the
 * victim's own phone holds the session, the phone's device key and the PIN, so every challenge — which a strong
 * confirmation on the established phone answers — is answered by the thief. The rules that bound it refuse
 * (review) instead: a ceiling on money leaving in unusual contexts, a pace no person pays at, and money
 * converging on one merchant from unusual contexts. Each is shown with the ordinary customer it must leave alone.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { networkOf } from '../../src/risk/keys.ts';
import { backdateRiskHistory } from '../../src/risk/establish.ts';
import { merchantCaseSubject } from '../../src/risk/rules/merchant-convergence.ts';
import type { RiskDecision } from '../../src/risk/types.ts';
import { startTestKoban } from '../support/koban.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_LOG_LEVEL: 'error' } });
  koban = env.koban;
}, 60_000);
afterAll(async () => {
  await env?.close();
});

let serial = 0;
interface Established { accountId: string; phone: string; homeIp: string; usualStore: string }

/** A customer of a year: their phone and home network linked long ago, a usual store, three payments a day. */
async function established(paymentsPerDay = 3): Promise<Established> {
  serial += 1;
  const accountId = randomUUID();
  const phone = `dev-${randomUUID()}`;
  const homeIp = `198.51.${serial % 250}.7`;
  const usualStore = randomUUID();
  await env.db.pool.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen) values ('device', $1, $3, now(), now()), ('network', $2, $3, now(), now())`,
    [phone, networkOf(homeIp), accountId]);
  await backdateRiskHistory(env.db.pool, () => new Date(), { accountId, ageDays: 365, dailySpendMinor: 3_000n, paymentsPerDay, storeIds: [usualStore] });
  return { accountId, phone, homeIp, usualStore };
}

const pay = (who: Established, input: { amountMinor: bigint; ip?: string; storeId?: string; merchantId?: string }) => koban.risk.assess({
  kind: 'payment', accountId: who.accountId, deviceId: who.phone, ip: input.ip ?? who.homeIp, storeId: input.storeId ?? who.usualStore,
  merchantId: input.merchantId ?? randomUUID(), merchantCategoryCode: '5411', amountMinor: input.amountMinor, balanceMinor: 100_000n, ref: randomUUID(),
});

const rules = (decision: RiskDecision) => decision.reasons.map((reason) => reason.rule);
const THIEF_IP = '203.0.113.9';

describe('malware on an established phone, paying from the thief\'s network (unusual_context_ceiling)', () => {
  it('refuses (review) the payment that takes unusual-context spending above ¥3,000, however the challenges before it were answered', async () => {
    const victim = await established();
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 5; i++) decisions.push(await pay(victim, { amountMinor: 999n, ip: THIEF_IP }));
    // The allowance passes, then challenges (which the PIN on the phone answers), then the ceiling refuses.
    expect(decisions.map((d) => d.decision)).toEqual(['allow', 'challenge', 'challenge', 'review', 'review']);
    const ceiling = decisions[3]?.reasons.find((reason) => reason.rule === 'unusual_context_ceiling');
    expect(ceiling).toMatchObject({ action: 'review', observed: '3996', threshold: '3000' });
    expect(ceiling?.message).toMatch(/a network new to this account/);
  });

  it('a customer who just moved to a new phone is challenged (held for a confirmation that phone cannot give), never refused outright', async () => {
    const customer = await established();
    const newPhone = { ...customer, phone: `dev-${randomUUID()}` };
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 9; i++) decisions.push(await pay(newPhone, { amountMinor: 999n, ip: THIEF_IP }));
    expect(decisions.slice(1).every((d) => d.decision === 'challenge')).toBe(true);
    expect(decisions.flatMap(rules)).not.toContain('unusual_context_ceiling');
    expect(decisions.flatMap(rules)).not.toContain('payment_pace');
  });

  it('leaves the customer alone at home: the same payments from their own network at their usual store are not unusual', async () => {
    const customer = await established();
    for (let i = 0; i < 5; i++) expect(rules(await pay(customer, { amountMinor: 999n }))).not.toContain('unusual_context_ceiling');
  });
});

describe('malware on an established phone at the victim\'s own network and stores (payment_pace)', () => {
  it('refuses (review) the ninth payment within ten minutes from a customer who pays three times a day', async () => {
    const victim = await established();
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 9; i++) decisions.push(await pay(victim, { amountMinor: 999n }));
    expect(decisions.slice(0, 8).every((d) => !rules(d).includes('payment_pace'))).toBe(true);
    const pace = decisions[8]?.reasons.find((reason) => reason.rule === 'payment_pace');
    expect(pace).toMatchObject({ action: 'review', observed: '9', threshold: '8' });
    expect(decisions[8]?.decision).toBe('review');
  });

  it('sizes the pace from the customer\'s own history: twenty payments a day allow forty within the window', async () => {
    const busy = await established(20);
    for (let i = 0; i < 12; i++) expect(rules(await pay(busy, { amountMinor: 300n }))).not.toContain('payment_pace');
  });
});

describe('malware sessions converging on a colluding merchant (merchant_convergence, unusual contexts)', () => {
  it('counts established accounts paying a store new to them from a new network, and opens a case on the merchant from the fifth', async () => {
    const colluding = randomUUID();
    const store = randomUUID();
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 6; i++) decisions.push(await pay(await established(), { amountMinor: 500n, ip: THIEF_IP, storeId: store, merchantId: colluding }));
    expect(decisions.slice(0, 4).every((d) => !rules(d).includes('merchant_convergence'))).toBe(true);
    expect(rules(decisions[4] as RiskDecision)).toContain('merchant_convergence');
    expect(decisions[4]?.reasons.find((r) => r.rule === 'merchant_convergence')?.message).toMatch(/unusual contexts \(this one: a (network new to the account|store new to this customer)/);
    const cases = await env.db.pool.query(`select 1 from cases where account_id = $1 and status = 'open'`, [merchantCaseSubject(colluding)]);
    expect(cases.rowCount).toBe(1);
  });

  it('never counts a customer who moved to a new phone at home (a network the account has long known); a new device elsewhere counts', async () => {
    const merchant = randomUUID();
    for (let i = 0; i < 6; i++) {
      const customer = await established();
      const decision = await pay({ ...customer, phone: `dev-${randomUUID()}` }, { amountMinor: 500n, merchantId: merchant });
      expect(rules(decision)).not.toContain('merchant_convergence');
    }
    const elsewhere: RiskDecision[] = [];
    for (let i = 0; i < 5; i++) elsewhere.push(await pay({ ...await established(), phone: `dev-${randomUUID()}` }, { amountMinor: 500n, ip: THIEF_IP, merchantId: merchant }));
    expect(elsewhere[4]?.reasons.find((r) => r.rule === 'merchant_convergence')?.message).toMatch(/a device new to the account/);
  });

  it('never counts established customers paying at a store they know, from their own network', async () => {
    const merchant = randomUUID();
    for (let i = 0; i < 8; i++) {
      const customer = await established();
      expect(rules(await pay(customer, { amountMinor: 500n, merchantId: merchant }))).not.toContain('merchant_convergence');
    }
  });
});

describe('a customer who proves each payment with their passkey (issue 13: the proof malware on the phone cannot give)', () => {
  const proved = (who: Established, input: { amountMinor: bigint; ip?: string; storeId?: string }) => koban.risk.assess({
    kind: 'payment', accountId: who.accountId, deviceId: who.phone, ip: input.ip ?? who.homeIp, storeId: input.storeId ?? who.usualStore,
    merchantId: randomUUID(), merchantCategoryCode: '5411', amountMinor: input.amountMinor, balanceMinor: 100_000n, ref: randomUUID(), passkeyProved: true,
  });

  it('buys at twelve festival stalls in ten minutes without the pace refusing them; the same pace without the passkey is refused', async () => {
    const withPasskey = await established();
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 12; i++) decisions.push(await proved(withPasskey, { amountMinor: 500n }));
    expect(decisions.flatMap(rules)).not.toContain('payment_pace');
    expect(decisions.every((d) => d.decision === 'allow')).toBe(true);
    const without = await established();
    const refused: RiskDecision[] = [];
    for (let i = 0; i < 12; i++) refused.push(await pay(without, { amountMinor: 500n }));
    expect(refused.flatMap(rules)).toContain('payment_pace');
  });

  it('a challenge is met by the passkey (allowed, its reasons kept and marked), and unusual-context spending it proved never reaches the ceiling', async () => {
    const traveller = await established();
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 6; i++) decisions.push(await proved(traveller, { amountMinor: 999n, ip: THIEF_IP }));
    expect(decisions.map((d) => d.decision)).toEqual(['allow', 'allow', 'allow', 'allow', 'allow', 'allow']);
    expect(decisions.flatMap(rules)).not.toContain('unusual_context_ceiling');
    const met = decisions[1]?.reasons.find((reason) => reason.rule === 'unusual_context');
    expect(met?.message).toMatch(/met: confirmed with the customer's passkey/);
    // Review and deny stand whatever the proof: a blocked device is refused even with the passkey.
    await koban.risk.settings.addToList('blocked_device', traveller.phone, 'stolen phone reported', { kind: 'operator', id: 'op-analyst' });
    const blocked = await proved(traveller, { amountMinor: 500n });
    expect(blocked.decision).toBe('deny');
    expect(rules(blocked)).toContain('blocked_instrument');
  });
});

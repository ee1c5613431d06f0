/**
 * Guessing customer codes at a till (issue 14): 300 random codes from one terminal were all evaluated and
 * nobody noticed. Now each unknown, expired or used code counts against the terminal; from 5 the till must
 * wait, at 20 it locks, the risk engine records a `terminal_code_guessing` signal, and only an operator
 * (audited, with a reason) unlocks it. No assertion depends on timing: whether an attempt was slowed down or
 * evaluated depends on how fast the box is, but every one of them counts, so the lock lands on the 20th.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { newClient, type Client } from '../identity/support.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant, type TestMerchant } from './merchant-fixtures.ts';

const LOCK_AT = 20;
let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let merchant: TestMerchant;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_TERMINAL_CODE_FAILURES_SLOWDOWN: '5', KOBAN_TERMINAL_CODE_FAILURES_LOCK: String(LOCK_AT), KOBAN_TERMINAL_CODE_SLOWDOWN_BASE_MS: '1000' } });
  koban = env.koban;
  merchant = await createTestMerchant(koban.db, koban.ledger);
});
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await env.close();
});

async function activatedTill(terminalId: string, ip: string): Promise<Client> {
  const client = newClient(koban, ip);
  const code = (await koban.payments.terminals.issueActivationCode(terminalId, 'test')).code;
  const response = await client.request({ method: 'POST', url: '/v1/till/activate', body: { code } });
  expect(response.statusCode, response.body).toBe(200);
  return client;
}

const randomCode = () => `9${Array.from({ length: 19 }, () => randomInt(10)).join('')}`;
const charge = (till: Client, code: string, amount = '500') =>
  till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: `guess-${randomBytes(8).toString('hex')}`, code, amount } });

describe('a till guessing customer codes', () => {
  it('300 random codes from one terminal are not all evaluated: the terminal is locked and an operator sees it', async () => {
    const [guessingTerminal, honestTerminal] = [merchant.terminalIds[0]!, merchant.terminalIds[1]!];
    const till = await activatedTill(guessingTerminal, '198.51.100.7');
    const answers = new Map<string, number>();
    for (let i = 0; i < 300; i += 1) {
      const response = await charge(till, randomCode());
      const code = String(response.json().code);
      answers.set(code, (answers.get(code) ?? 0) + 1);
    }
    // Every refused code and every attempt refused while slowed down counts; the 20th locks the till.
    const evaluated = answers.get('payment_code_not_found') ?? 0;
    const slowed = answers.get('terminal_slowed_down') ?? 0;
    expect(evaluated).toBeGreaterThanOrEqual(5);
    expect(evaluated + slowed).toBe(LOCK_AT - 1);
    expect(answers.get('terminal_locked')).toBe(300 - (LOCK_AT - 1));
    expect([...answers.keys()].sort()).toEqual(['payment_code_not_found', 'terminal_locked', ...(slowed > 0 ? ['terminal_slowed_down'] : [])].sort());

    // A real customer's code is refused at the locked till too, and no money moves.
    const customer = await createCustomer(koban.db, koban.ledger, 5_000n);
    const minted = await koban.payments.payments.mintPaymentCode(customer);
    const refused = await charge(till, minted.code);
    expect(refused.statusCode).toBe(423);
    expect(refused.json()).toMatchObject({ code: 'terminal_locked' });
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(5_000n);
    // The other till of the store is not affected.
    expect((await charge(await activatedTill(honestTerminal, '198.51.100.8'), minted.code)).statusCode).toBe(200);

    // The operator sees it: a flagged risk event naming the terminal, and the list of locked tills.
    const analyst = await signInAs(koban, 'risk_analyst');
    const ops = opsRequest(koban, analyst);
    const events = (await ops('GET', '/v1/ops/risk/events')).json() as { events: Array<{ kind: string; ref: string | null; decision: string; reasons: Array<{ rule: string }> }> };
    const signal = events.events.filter((event) => event.kind === 'security_signal' && event.ref === guessingTerminal);
    expect(signal).toHaveLength(1);
    expect(signal[0]).toMatchObject({ decision: 'review', reasons: [{ rule: 'terminal_code_guessing' }] });
    expect((await ops('GET', '/v1/ops/terminals/locked')).json().items).toEqual([expect.objectContaining({ terminalId: guessingTerminal, failures: LOCK_AT })]);

    // Only with a reason, audited; then the till takes a real code again.
    expect((await ops('POST', `/v1/ops/terminals/${guessingTerminal}/unlock`, {})).statusCode).toBe(400);
    const unlocked = await ops('POST', `/v1/ops/terminals/${guessingTerminal}/unlock`, { reason: 'store called back: a new cashier testing the scanner' });
    expect(unlocked.statusCode, unlocked.body).toBe(200);
    expect((await ops('POST', `/v1/ops/terminals/${guessingTerminal}/unlock`, { reason: 'twice' })).json()).toMatchObject({ code: 'terminal_not_locked' });
    const audit = await koban.db.pool.query<{ actor_id: string; reason: string }>(`select actor_id, reason from audit_events where action = 'terminal.unlocked' and target_id = $1`, [guessingTerminal]);
    expect(audit.rows).toEqual([{ actor_id: analyst.id, reason: 'store called back: a new cashier testing the scanner' }]);
    const second = await koban.payments.payments.mintPaymentCode(customer);
    expect((await charge(till, second.code, '700')).statusCode).toBe(200);
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(5_000n - 500n - 700n);
  }, 120_000);

  it('support can unlock a till but finance cannot', async () => {
    const finance = await signInAs(koban, 'finance');
    const response = await opsRequest(koban, finance)('POST', `/v1/ops/terminals/${merchant.terminalIds[0]}/unlock`, { reason: 'finance trying' });
    expect(response.statusCode).toBe(403);
  });
});

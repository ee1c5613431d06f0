/**
 * An operator issues a till activation code while Koban runs (a new tablet at a store): only the roles
 * with `terminals.activate` may, each issue is in the audit log with who did it, and the code activates
 * exactly that terminal's till.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { newClient } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { startTestKoban } from '../support/koban.ts';
import { opsRequest, signInAs } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let merchant: TestMerchant;

beforeAll(async () => {
  env = await startTestKoban();
  koban = env.koban;
  merchant = await createTestMerchant(koban.db, koban.ledger);
});
afterAll(async () => {
  await env.close();
});

const issuePath = (terminalId: string): string => `/v1/ops/terminals/${terminalId}/activation-codes`;

it('a support operator issues a code that activates that terminal, and the audit log names the operator', async () => {
  const support = await signInAs(koban, 'support');
  const terminalId = merchant.terminalIds[1] as string;
  const issued = await opsRequest(koban, support)('POST', issuePath(terminalId));
  expect(issued.statusCode, issued.body).toBe(200);
  const { code } = issued.json() as { code: string };
  expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  const audit = await koban.db.pool.query<{ actor_id: string; target_id: string; outcome: string }>(
    `select actor_id, target_id, outcome from audit_events where action = 'terminal.activation_code_issued'`);
  expect(audit.rows).toEqual([{ actor_id: support.id, target_id: terminalId, outcome: 'success' }]);

  const till = newClient(koban, '203.0.113.150');
  expect((await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } })).statusCode).toBe(200);
  expect((await till.request({ method: 'GET', url: '/v1/till/session' })).json()).toMatchObject({ terminal: { id: terminalId } });
});

it('refuses a role without terminals.activate, and a caller without a session, issuing nothing', async () => {
  const finance = await signInAs(koban, 'finance');
  const terminalId = merchant.terminalIds[0] as string;
  const refused = await opsRequest(koban, finance)('POST', issuePath(terminalId));
  expect(refused.statusCode).toBe(403);
  expect(refused.json()).toMatchObject({ code: 'operator_permission_denied' });
  expect((await opsRequest(koban, null)('POST', issuePath(terminalId))).statusCode).toBe(401);
  const codes = await koban.db.pool.query('select 1 from terminal_activation_codes where terminal_id = $1', [terminalId]);
  expect(codes.rowCount).toBe(0);
});

it('answers 404 for a terminal that does not exist', async () => {
  const admin = await signInAs(koban, 'administrator');
  const response = await opsRequest(koban, admin)('POST', issuePath('00000000-0000-7000-8000-00000000abcd'));
  expect(response.statusCode).toBe(404);
  expect(response.json()).toMatchObject({ code: 'terminal_not_found' });
});

/**
 * The console finds a customer by any fragment of the phone number (issue 17): the last digits, a middle
 * fragment, the start typed with the trunk 0 or +81, hyphens and spaces ignored. The fragments live in an
 * index kept by the database (migration 0381), so the lookup is an index range, and a changed number is
 * found by its new digits only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { PUBLIC_URL, signUp, type Customer } from '../identity/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { opsRequest, signInAs, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let analyst: SignedInOperator;
let customer: Customer;
let other: Customer;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
  koban = env.koban;
  analyst = await signInAs(koban, 'risk_analyst');
  customer = await signUp(koban);
  other = await signUp(koban);
}, 60_000);
afterAll(async () => {
  await env?.close();
});

async function foundIds(q: string): Promise<string[]> {
  const response = await opsRequest(koban, analyst)('GET', `/v1/ops/search?q=${encodeURIComponent(q)}`);
  expect(response.statusCode).toBe(200);
  return (response.json() as { results: Array<{ kind: string; id: string }> }).results.filter((hit) => hit.kind === 'customer').map((hit) => hit.id);
}

describe('console search by a phone fragment', () => {
  it('finds the customer by the last digits, a middle fragment, the start with 0 or +81, with hyphens and spaces', async () => {
    const national = `0${customer.phone.slice(3)}`; // +8190xxxxxxxx → 090xxxxxxxx
    const middle = national.slice(4, 9);
    const typed = [
      customer.phone.slice(-4),
      middle,
      `${middle.slice(0, 2)}-${middle.slice(2)}`,
      `${national.slice(0, 3)}-${national.slice(3, 7)}`,
      `+81 ${national.slice(1, 3)} ${national.slice(3, 7)}`,
    ];
    for (const q of typed) expect(await foundIds(q), q).toContain(customer.customerId);
    // A fragment that is in neither number finds neither.
    const absent = ['0000000', '9999999'].find((digits) => !customer.phone.includes(digits) && !other.phone.includes(digits)) ?? '';
    expect(await foundIds(absent)).toEqual([]);
  });

  it('ranks the number that ends with the digits before one that only contains them', async () => {
    const tail = customer.phone.slice(-5);
    await env.db.pool.query(`update customer_contacts set value = $2 where customer_id = $1 and kind = 'phone'`, [other.customerId, `+8180${tail}321`]);
    expect(await foundIds(tail)).toEqual([customer.customerId, other.customerId]);
  });

  it('follows a changed number: found by the new digits, no longer by the old ones', async () => {
    const oldTail = other.phone.slice(-7);
    const newPhone = '+819087654321';
    await env.db.pool.query(`update customer_contacts set value = $2 where customer_id = $1 and kind = 'phone'`, [other.customerId, newPhone]);
    expect(await foundIds('8765-43')).toContain(other.customerId);
    expect(await foundIds(oldTail)).not.toContain(other.customerId);
  });

  it('is one index range, not a scan of the contacts', async () => {
    const client = await env.db.pool.connect();
    try {
      await client.query('begin');
      // The tables are tiny here, so the planner would rightly scan them; forbidding scans shows the index serves the query.
      await client.query('set local enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(`explain select contact_id from customer_phone_fragments where fragment like '1234%'`);
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).toContain('customer_phone_fragments_lookup');
      expect(text).not.toMatch(/Seq Scan/);
      await client.query('rollback');
    } finally {
      client.release();
    }
  });
});

/** Kill switches: stored, audited, obeyed by every Koban process within one second, and independent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { KobanError } from '../../src/platform/errors.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';
import { startTestKoban } from '../support/koban.ts';

let db: TestDatabase;
let otherDb: Database;
let a: Koban;
let b: Koban;
const closers: Array<() => Promise<void>> = [];
const operator = { kind: 'operator' as const, id: 'op-risk-1' };

beforeAll(async () => {
  db = await createTestDatabase();
  otherDb = await openAnotherConnection(db);
  const first = await startTestKoban({ db });
  const second = await startTestKoban({ db: otherDb });
  a = first.koban;
  b = second.koban;
  closers.push(first.close, second.close);
});
afterAll(async () => {
  for (const close of closers) await close();
  await otherDb.close();
  await db.close();
});

/** Polls until `check` holds; answers how long it took, or fails after `deadlineMs`. */
async function within(deadlineMs: number, check: () => boolean): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > deadlineMs) throw new Error(`not obeyed within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

describe('kill switches', () => {
  it('a change on one Koban process is obeyed by another within one second', async () => {
    expect(b.operations.switches.isOn('top_ups')).toBe(true);
    await a.operations.switches.set({ name: 'top_ups', state: 'off', reason: 'card fraud wave', actor: operator });
    expect(a.operations.switches.isOn('top_ups')).toBe(false);
    await within(1000, () => !b.operations.switches.isOn('top_ups'));
    await a.operations.switches.set({ name: 'top_ups', state: 'on', reason: 'contained', actor: operator });
    await within(1000, () => b.operations.switches.isOn('top_ups'));
  });

  it('a change whose notification never arrives is still obeyed within one second (polling fallback)', async () => {
    await db.pool.query(`insert into operation_switches (name, state, reason, changed_by, version) values ('refunds', 'off', 'written without notify', 'test', 1)`);
    await within(1000, () => !a.operations.switches.isOn('refunds') && !b.operations.switches.isOn('refunds'));
    await a.operations.switches.set({ name: 'refunds', state: 'on', reason: 'back on', actor: operator });
  });

  it('switching one changes nothing else', async () => {
    const switches = a.operations.switches;
    await switches.set({ name: 'funding.card', state: 'off', reason: 'stolen cards', actor: operator });
    await switches.set({ name: 'sign_in.social.line', state: 'off', reason: 'IdP issue', actor: operator });
    expect(switches.isOn('funding.card')).toBe(false);
    expect(switches.isOn('sign_in.social.line')).toBe(false);
    for (const name of ['funding.bank', 'funding', 'top_ups', 'payments', 'refunds', 'registrations', 'payment_code_minting',
      'sign_in.password', 'sign_in.passkey', 'sign_in.social', 'sign_in.social.google']) {
      expect(switches.isOn(name), name).toBe(true);
    }
    await switches.set({ name: 'funding.card', state: 'on', reason: 'issuer fixed', actor: operator });
    await switches.set({ name: 'sign_in.social.line', state: 'on', reason: 'IdP fixed', actor: operator });
  });

  it('a global switch stops every scoped one under it and leaves their own positions alone', async () => {
    const switches = a.operations.switches;
    await switches.set({ name: 'sign_in.passkey', state: 'off', reason: 'passkey bug', actor: operator });
    await switches.set({ name: 'sign_in', state: 'off', reason: 'credential stuffing', actor: operator });
    for (const name of ['sign_in.password', 'sign_in.passkey', 'sign_in.social.google']) expect(switches.isOn(name), name).toBe(false);
    expect(switches.isOn('payments')).toBe(true);
    expect(() => switches.assertOn('sign_in.password')).toThrow(KobanError);
    try {
      switches.assertOn('sign_in.password');
    } catch (error) {
      expect(error).toMatchObject({ code: 'service_switched_off', status: 503, extensions: { switch: 'sign_in.password', switchedOffBy: 'sign_in' } });
    }
    await switches.set({ name: 'sign_in', state: 'on', reason: 'stuffing blocked at the edge', actor: operator });
    expect(switches.isOn('sign_in.password')).toBe(true);
    expect(switches.isOn('sign_in.passkey')).toBe(false);
    await switches.set({ name: 'sign_in.passkey', state: 'on', reason: 'fixed', actor: operator });
  });

  it('every change carries its reason and operator into the audit log', async () => {
    await a.operations.switches.set({ name: 'payment_code_minting', state: 'off', reason: 'code replay investigation', actor: operator, ip: '192.0.2.1' });
    const audited = await db.pool.query(`select actor_kind, actor_id, action, target_id, reason, details, ip, outcome from audit_events
      where target_kind = 'switch' and target_id = 'payment_code_minting' order by id desc limit 1`);
    expect(audited.rows[0]).toMatchObject({ actor_kind: 'operator', actor_id: 'op-risk-1', action: 'switch.turned_off', reason: 'code replay investigation',
      details: { from: 'on', to: 'off' }, ip: '192.0.2.1', outcome: 'success' });
    const stored = a.operations.switches.list().find((s) => s.name === 'payment_code_minting');
    expect(stored?.lastChange).toMatchObject({ reason: 'code replay investigation', changedBy: 'operator:op-risk-1' });
    await a.operations.switches.set({ name: 'payment_code_minting', state: 'on', reason: 'done', actor: operator });
  });

  it('refuses an unknown switch or a missing reason and writes nothing', async () => {
    const before = await db.pool.query('select count(*)::int as n from audit_events');
    await expect(a.operations.switches.set({ name: 'everything', state: 'off', reason: 'because', actor: operator })).rejects.toMatchObject({ code: 'switch_unknown' });
    await expect(a.operations.switches.set({ name: 'payments', state: 'off', reason: ' ', actor: operator })).rejects.toMatchObject({ code: 'validation_failed' });
    expect(a.operations.switches.isOn('payments')).toBe(true);
    expect((await db.pool.query('select count(*)::int as n from audit_events')).rows[0].n).toBe(before.rows[0].n);
  });
});

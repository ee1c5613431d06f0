/**
 * Kill switches: stored, audited, obeyed by every Koban process, and independent. "Within one second" is
 * shown by the mechanism, not by a stopwatch: a change is delivered by NOTIFY, and a missed notification is
 * made up by a poll that runs every interval, an interval the configuration caps at one second.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { KobanError } from '../../src/platform/errors.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';
import { startTestKoban, testConfig } from '../support/koban.ts';
import { CHANGE_CHANNEL, createChangeFeed } from '../../src/operations/change-feed.ts';
import { createSwitches } from '../../src/operations/switches/switches.ts';

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

/**
 * Waits for the event itself: `check` holding. The bound only stops a broken test; how quickly a change
 * must be obeyed is shown by the mechanism (a notification, or a poll whose interval config caps at 1 s).
 */
const EVENT_BOUND_MS = 15_000;
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await vi.waitFor(async () => {
    if (!(await check())) throw new Error(`still waiting: ${what}`);
  }, { timeout: EVENT_BOUND_MS, interval: 10 });
}

/** Backends LISTENing on the change channel (idle after their LISTEN), across every pool on the database. */
async function changeListeners(): Promise<number> {
  const result = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle' and query = $1`, [`listen ${CHANGE_CHANNEL}`]);
  return result.rows[0]?.n ?? 0;
}

describe('kill switches', () => {
  it('a change on one Koban process is obeyed by another', async () => {
    expect(b.operations.switches.isOn('top_ups')).toBe(true);
    await a.operations.switches.set({ name: 'top_ups', state: 'off', reason: 'card fraud wave', actor: operator });
    expect(a.operations.switches.isOn('top_ups')).toBe(false);
    await until(() => !b.operations.switches.isOn('top_ups'), 'b sees top_ups off');
    await a.operations.switches.set({ name: 'top_ups', state: 'on', reason: 'contained', actor: operator });
    await until(() => b.operations.switches.isOn('top_ups'), 'b sees top_ups on');
  });

  it('the change reaches another process through its notification: with polling an hour apart, only the NOTIFY can deliver it', async () => {
    const listenersBefore = await changeListeners();
    const feed = createChangeFeed(otherDb, { intervalMs: 3_600_000, onError: (error) => { throw error; } });
    const elsewhere = await createSwitches(otherDb, feed);
    feed.start();
    try {
      // A NOTIFY sent before the LISTEN is in place would be lost: wait for the listener first.
      await until(async () => (await changeListeners()) > listenersBefore, 'the new process LISTENs');
      expect(elsewhere.isOn('registrations')).toBe(true);
      await a.operations.switches.set({ name: 'registrations', state: 'off', reason: 'bot sign-ups', actor: operator });
      await until(() => !elsewhere.isOn('registrations'), 'the notified process sees registrations off');
      await a.operations.switches.set({ name: 'registrations', state: 'on', reason: 'bots blocked', actor: operator });
      await until(() => elsewhere.isOn('registrations'), 'the notified process sees registrations on');
    } finally {
      await feed.close();
    }
  });

  it('a change whose notification never arrives is still obeyed, by the poll', async () => {
    await db.pool.query(`insert into operation_switches (name, state, reason, changed_by, version) values ('refunds', 'off', 'written without notify', 'test', 1)`);
    await until(() => !a.operations.switches.isOn('refunds') && !b.operations.switches.isOn('refunds'), 'both processes see refunds off');
    await a.operations.switches.set({ name: 'refunds', state: 'on', reason: 'back on', actor: operator });
  });

  it('the poll behind a missed notification runs every interval, and the interval is at most one second', async () => {
    expect(a.config.operations.switchPollIntervalMs).toBeLessThanOrEqual(1000);
    expect(() => testConfig({ KOBAN_SWITCH_POLL_INTERVAL_MS: '1001' })).toThrow(/KOBAN_SWITCH_POLL_INTERVAL_MS/);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const feed = createChangeFeed(otherDb, { intervalMs: 1000, onError: (error) => { throw error; } });
    try {
      let reloads = 0;
      feed.subscribe('test-never-notified', async () => { reloads++; });
      feed.start();
      await vi.advanceTimersByTimeAsync(999);
      expect(reloads).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(reloads).toBe(1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(reloads).toBe(2);
    } finally {
      await feed.close();
      vi.useRealTimers();
    }
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

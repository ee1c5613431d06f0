// The transactional outbox and its dispatcher against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/platform/db/database.ts';
import { enqueueMessage } from '../../src/notifications/outbox.ts';
import { createDispatcher, backoffMs, DISPATCH_LIMITS } from '../../src/notifications/dispatcher.ts';
import type { OutboundMessage, Transport } from '../../src/notifications/types.ts';
import { createDevOutboxTransport } from '../../src/notifications/dev-outbox-transport.ts';
import { startTestKoban } from '../support/koban.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban();
});
afterAll(async () => {
  await env?.close();
});

const message = (recipient: string) => ({ channel: 'email' as const, recipient, kind: 'test', subject: 'Hello', body: 'Your code is 123456' });

async function statusOf(id: string): Promise<{ status: string; attempts: number; body: string }> {
  const result = await env.db.pool.query<{ status: string; attempts: number; body: string }>('select status, attempts, body from outbox_messages where id = $1', [id]);
  const row = result.rows[0];
  if (row === undefined) throw new Error('no such message');
  return row;
}

describe('transactional outbox', () => {
  it('loses the message when the transaction that caused it rolls back', async () => {
    await expect(withTransaction(env.db, async (client) => {
      await enqueueMessage(client, message('rollback@example.com'));
      throw new Error('the event failed');
    })).rejects.toThrow('the event failed');
    const count = await env.db.pool.query('select 1 from outbox_messages where recipient = $1', ['rollback@example.com']);
    expect(count.rowCount).toBe(0);
  });

  it('delivers committed messages to the development outbox and shows them at /dev/outbox.json', async () => {
    const id = await withTransaction(env.db, (client) => enqueueMessage(client, message('dev@example.com')));
    await env.koban.notifications.dispatchOnce();
    expect((await statusOf(id)).status).toBe('sent');
    const response = await env.koban.app.inject({ method: 'GET', url: '/dev/outbox.json?to=dev%40example.com' });
    expect(response.statusCode).toBe(200);
    expect(response.json().messages[0]).toMatchObject({ recipient: 'dev@example.com', body: 'Your code is 123456' });
    const page = await env.koban.app.inject({ method: 'GET', url: '/dev/outbox' });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('dev@example.com');
  });

  it('removes the secret body from the outbox once delivered', async () => {
    const id = await withTransaction(env.db, (client) => enqueueMessage(client, message('scrub@example.com')));
    await env.koban.notifications.dispatchOnce();
    expect((await statusOf(id)).body).toBe('[delivered]');
  });

  it('escapes message content on the HTML page (no stored XSS through a recipient or body)', async () => {
    await withTransaction(env.db, (client) => enqueueMessage(client, { ...message('xss@example.com'), body: '<script>alert(1)</script>' }));
    await env.koban.notifications.dispatchOnce();
    const page = await env.koban.app.inject({ method: 'GET', url: '/dev/outbox' });
    expect(page.body).not.toContain('<script>alert(1)</script>');
    expect(page.body).toContain('&lt;script&gt;');
  });

  it('retries a failing provider with backoff and gives up after the last attempt', async () => {
    const id = await withTransaction(env.db, (client) => enqueueMessage(client, message('flaky@example.com')));
    const seen: OutboundMessage[] = [];
    const failing: Transport = { async deliver(m) { seen.push(m); throw new Error('provider down'); } };
    const dispatcher = createDispatcher(env.db, { email: failing, sms: failing });
    for (let attempt = 1; attempt <= DISPATCH_LIMITS.attemptsMax; attempt++) {
      await env.db.pool.query('update outbox_messages set next_attempt_at = now() where id = $1', [id]);
      await dispatcher.dispatchOnce();
    }
    const final = await statusOf(id);
    expect(final).toMatchObject({ status: 'failed', attempts: DISPATCH_LIMITS.attemptsMax });
    expect(seen.filter((m) => m.id === id)).toHaveLength(DISPATCH_LIMITS.attemptsMax);
    await env.db.pool.query('update outbox_messages set next_attempt_at = now() where id = $1', [id]);
    await dispatcher.dispatchOnce();
    expect(seen.filter((m) => m.id === id)).toHaveLength(DISPATCH_LIMITS.attemptsMax);
  });

  it('a dispatcher that dies between sending and recording: the lease holds the message, then it goes again with its id and arrives once', async () => {
    const id = await withTransaction(env.db, (client) => enqueueMessage(client, message('lease@example.com')));
    const provider = createDevOutboxTransport(env.db);
    let sentThenDied: () => void = () => undefined;
    const sent = new Promise<void>((resolve) => { sentThenDied = resolve; });
    // Delivers, then never returns: the record step never runs, as when the process is killed right after the send.
    const dying: Transport = { async deliver(m) { await provider.deliver(m); if (m.id === id) { sentThenDied(); await new Promise(() => undefined); } } };
    void createDispatcher(env.db, { email: dying, sms: dying }).dispatchOnce();
    await sent;
    const seen: string[] = [];
    const recording: Transport = { async deliver(m) { seen.push(m.id); await provider.deliver(m); } };
    const survivor = createDispatcher(env.db, { email: recording, sms: recording });
    await survivor.dispatchOnce();
    expect(seen).not.toContain(id);
    await env.db.pool.query('update outbox_messages set next_attempt_at = now() where id = $1', [id]); // the lease ran out
    await survivor.dispatchOnce();
    expect(seen.filter((seenId) => seenId === id)).toHaveLength(1);
    expect((await statusOf(id)).status).toBe('sent');
    const arrived = await env.db.pool.query('select 1 from dev_outbox where id = $1', [id]);
    expect(arrived.rowCount).toBe(1);
  });

  it('backs off exponentially up to a cap', () => {
    expect(backoffMs(1)).toBe(DISPATCH_LIMITS.backoffBaseMs);
    expect(backoffMs(2)).toBe(2 * DISPATCH_LIMITS.backoffBaseMs);
    expect(backoffMs(50)).toBe(DISPATCH_LIMITS.backoffMaxMs);
  });

  it('never hands one message to two dispatchers at once', async () => {
    const ids = await withTransaction(env.db, async (client) => {
      const created: string[] = [];
      for (let i = 0; i < 20; i++) created.push(await enqueueMessage(client, message(`race${i}@example.com`)));
      return created;
    });
    const delivered: string[] = [];
    const recording: Transport = { async deliver(m) { delivered.push(m.id); } };
    const a = createDispatcher(env.db, { email: recording, sms: recording });
    const b = createDispatcher(env.db, { email: recording, sms: recording });
    await Promise.all([a.dispatchOnce(), b.dispatchOnce(), a.dispatchOnce()]);
    const ours = delivered.filter((id) => ids.includes(id));
    expect(new Set(ours).size).toBe(ours.length);
  });
});

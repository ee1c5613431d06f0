/**
 * /dev/outbox (HTML) and /dev/outbox.json?to= : the development outbox, so a person trying Koban (and
 * the browser tests) can read the codes and alerts sent to demo users. Mounted only outside production.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import type { Database } from '../platform/db/database.ts';
import { readDevOutbox, type DevOutboxEntry } from './dev-outbox-transport.ts';

const PAGE_SIZE = 100;

const Query = Type.Object({ to: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })) }, { additionalProperties: false });
const EntryOut = Type.Object({
  id: Type.String(), channel: Type.String(), recipient: Type.String(), kind: Type.String(),
  subject: Type.String(), body: Type.String(), deliveredAt: Type.String(),
});

export function registerDevOutboxRoutes(app: App, db: Database): void {
  const tags = ['development'];
  app.get('/dev/outbox.json', {
    schema: { tags, summary: 'Messages delivered to the development outbox, newest first (not in production)', querystring: Query, response: { 200: Type.Object({ messages: Type.Array(EntryOut) }) } },
  }, async (request) => {
    const entries = await readDevOutbox(db, request.query.to ?? null, PAGE_SIZE);
    return { messages: entries.map((entry) => ({ ...entry, deliveredAt: entry.deliveredAt.toISOString() })) };
  });
  app.get('/dev/outbox', { schema: { hide: true, querystring: Query } }, async (request, reply) => {
    const entries = await readDevOutbox(db, request.query.to ?? null, PAGE_SIZE);
    reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").header('referrer-policy', 'no-referrer');
    return renderPage(entries);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function renderPage(entries: readonly DevOutboxEntry[]): string {
  const rows = entries.map((e) => `<tr><td>${escapeHtml(e.deliveredAt.toISOString())}</td><td>${escapeHtml(e.channel)}</td><td>${escapeHtml(e.recipient)}</td><td>${escapeHtml(e.subject)}</td><td><pre>${escapeHtml(e.body)}</pre></td></tr>`).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Koban development outbox</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}pre{margin:0;white-space:pre-wrap}</style></head>
<body><h1>Development outbox</h1><p>E-mail and SMS that Koban "sent" while no SMTP server or SMS provider is configured. Never available in production. Filter with <code>?to=</code>.</p>
<table><thead><tr><th>Delivered</th><th>Channel</th><th>To</th><th>Subject</th><th>Body</th></tr></thead><tbody>
${rows === '' ? '<tr><td colspan="5">Nothing yet.</td></tr>' : rows}
</tbody></table></body></html>`;
}

// Set-up shared by the wallet account browser tests: a Koban serving the web apps on
// http://localhost:<port> (a secure context for WebAuthn and `__Host-` cookies, and the origin the
// session's CSRF/Origin checks expect), codes read from the development outbox, and a Chromium
// virtual authenticator driven over CDP.
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import type { Koban } from '../../src/koban.ts';
import { startWebKoban } from '../support/web-koban.ts';

export { freePort } from '../support/web-koban.ts';

export interface WalletKoban { koban: Koban; base: string; close(): Promise<void> }

/** Koban with the web apps, listening on localhost:<port>; `env` is added to its configuration. */
export async function startWalletKoban(port: number, env: Record<string, string> = {}): Promise<WalletKoban> {
  // Generous source limits: every test signs in from the same loopback address.
  return startWebKoban({ port, env: { KOBAN_LOGIN_IP_FAILURES_MAX: '50', KOBAN_LOGIN_NETWORK_FAILURES_MAX: '100', ...env } });
}

interface OutboxMessage { kind: string; body: string; recipient: string }

/**
 * Waits for a new message of `kind` to `to` in the development outbox and returns its 6-digit code;
 * `seen` keeps the bodies already used, so a resend or an older code is never mistaken for it.
 */
export async function nextCode(koban: Koban, base: string, to: string, kind: string, seen: Set<string>): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await koban.notifications.dispatchOnce();
    const response = await fetch(`${base}/dev/outbox.json?to=${encodeURIComponent(to)}`);
    const { messages } = (await response.json()) as { messages: OutboxMessage[] };
    const fresh = messages.find((m) => m.kind === kind && !seen.has(m.body));
    const code = fresh === undefined ? undefined : /\b([0-9]{6})\b/.exec(fresh.body)?.[1];
    if (fresh !== undefined && code !== undefined) {
      seen.add(fresh.body);
      return code;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${kind} message reached ${to}`);
}

/** The newest messages to `to`, or to anyone when `to` is null. */
export async function outbox(koban: Koban, base: string, to: string | null): Promise<OutboxMessage[]> {
  await koban.notifications.dispatchOnce();
  const response = await fetch(to === null ? `${base}/dev/outbox.json` : `${base}/dev/outbox.json?to=${encodeURIComponent(to)}`);
  return ((await response.json()) as { messages: OutboxMessage[] }).messages;
}

export interface Authenticator { cdp: CDPSession; authenticatorId: string }

/** A platform authenticator with resident keys and user verification, as on a phone with a screen lock. */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<Authenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

let counter = 0;
/** Contacts nobody else in this database uses. */
export function uniqueContacts(): { email: string; phone: string } {
  counter++;
  const n = String(process.pid % 1000).padStart(3, '0') + String(counter).padStart(5, '0');
  return { email: `wallet${n}@example.com`, phone: `+8170${n}` };
}

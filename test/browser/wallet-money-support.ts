// Set-up for the wallet money browser tests: Koban serving the web apps on http://localhost:<port> (a
// secure context for `__Host-` cookies, and the origin its CSRF/Origin checks expect) with the sandbox
// acquirer and bank, a merchant with a till API key, and a customer signed up and given a charge PIN
// through the API *inside the browser* (so the page holds the session), codes read from the dev outbox.
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import type { Koban } from '../../src/koban.ts';
import { createApiCredential, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { moneyMessages } from '../../web/wallet/money/messages.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { startWebKoban } from '../support/web-koban.ts';
import { WALLET_VELOCITY_RULES } from '../wallet/support.ts';

export const PIN = '480271';
export const PASSWORD = 'paper lantern over the river';

/**
 * The account screens' messages (step-up dialog, nav), read as text: that file imports the JSX i18n module,
 * which the Node-side type check does not compile. Entries are one line each: `'key': { ja: '…', en: '…' },`.
 */
export function accountMessagesFromSource(): Record<string, { ja: string; en: string }> {
  const source = readFileSync(path.resolve(import.meta.dirname, '../../web/wallet/account/messages.ts'), 'utf8');
  const entries: Record<string, { ja: string; en: string }> = {};
  for (const match of source.matchAll(/'([a-zA-Z0-9_.]+)': \{ ja: '((?:[^'\\]|\\.)*)', en: (?:'((?:[^'\\]|\\.)*)'|"([^"]*)") \}/g)) {
    entries[match[1]!] = { ja: match[2]!, en: match[3] ?? match[4] ?? '' };
  }
  return entries;
}
const accountMessages = accountMessagesFromSource();

/** The Japanese text of a wallet message (the wallet's default language), for role and label queries. */
export function ja(key: string, values: Record<string, string> = {}): string {
  const entry = moneyMessages[key] ?? accountMessages[key];
  if (entry === undefined) throw new Error(`no message ${key}`);
  return Object.entries(values).reduce((text, [name, value]) => text.replaceAll(`{${name}}`, value), entry.ja);
}

export interface MoneyEnv {
  koban: Koban;
  base: string;
  merchant: TestMerchant;
  credential: IssuedCredential;
  close(): Promise<void>;
}

export async function startMoneyEnv(env: Record<string, string> = {}): Promise<MoneyEnv> {
  const { koban, base, close } = await startWebKoban({ sandboxes: true, env });
  // Shared sandbox cards, and a brand-new customer spending over ¥10,000 within minutes: the risk rules would
  // rightly refuse or challenge that (test/risk and test/wallet run with them on).
  for (const rule of [...WALLET_VELOCITY_RULES, 'account_spending_budget', 'balance_drain']) await koban.risk.settings.updateRule(rule, { enabled: false }, { kind: 'operator', id: 'op-browser-tests' }, 'isolate the screens under test');
  await koban.payments.opa.app.ready();
  const merchant = await createTestMerchant(koban.db, koban.ledger, 'Koban Mart');
  const credential = await createApiCredential(koban.db, koban.payments.box, { merchantId: merchant.merchantId });
  return { koban, base, merchant, credential, close };
}

/**
 * A JSON API call made by the page itself (its cookies, its origin), with the session's CSRF token and a
 * device proof signed by the wallet's own key in IndexedDB (web/wallet/device-key.ts), as the wallet sends.
 */
export async function pageApi<T>(page: Page, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: T }> {
  return page.evaluate(`(${PAGE_API})(${JSON.stringify([method, path, body ?? null, headers])})`) as Promise<{ status: number; json: T }>;
}

// In the page (plain JS: the root tsconfig has no DOM types). The wallet's key pair: the one stored, or a
// new one added the way the wallet adds it (the first one stored wins); an ES256 dpop+jwt made with WebCrypto.
const PAGE_API = String.raw`async ([m, p, b, h]) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('koban-device', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const request = (run, mode) => new Promise((resolve, reject) => {
    const r = run(db.transaction('keys', mode).objectStore('keys'));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  let pair = await request((store) => store.get('device'), 'readonly');
  if (pair === undefined) {
    const made = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    pair = await request((store) => store.add(made, 'device'), 'readwrite').then(() => made, async () => (await request((store) => store.get('device'), 'readonly')) ?? made);
  }
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const part = (value) => b64(new TextEncoder().encode(JSON.stringify(value)));
  const proofFor = async (method, target) => {
    const url = new URL(target, location.origin);
    const input = part({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } }) + '.' + part({ htm: method, htu: url.origin + url.pathname, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() });
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(input));
    return input + '.' + b64(new Uint8Array(signature));
  };
  const me = await fetch('/v1/customer/me', { headers: { dpop: await proofFor('GET', '/v1/customer/me') } });
  const csrf = me.ok ? (await me.json()).csrfToken : '';
  const response = await fetch(p, {
    method: m, credentials: 'same-origin',
    headers: { accept: 'application/json', 'x-csrf-token': csrf, dpop: await proofFor(m, p), ...(b === null ? {} : { 'content-type': 'application/json' }), ...h },
    body: b === null ? undefined : JSON.stringify(b),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}`;

/** The newest 6-digit code sent to `to` that was not seen before. */
export async function codeFor(koban: Koban, to: string, seen: Set<string>): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await koban.notifications.dispatchOnce();
    const response = await koban.app.inject({ method: 'GET', url: `/dev/outbox.json?to=${encodeURIComponent(to)}` });
    const messages = (response.json() as { messages: Array<{ body: string }> }).messages;
    for (const message of messages) {
      const code = /\b([0-9]{6})\b/.exec(message.body)?.[1];
      if (code !== undefined && !seen.has(message.body)) {
        seen.add(message.body);
        return code;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no code reached ${to}`);
}

export interface BrowserCustomer { email: string; phone: string; customerId: string; seen: Set<string> }

/** Signs up in the page (the browser keeps the session and its remembered device) and sets a charge PIN. */
export async function signUpInBrowser(env: MoneyEnv, page: Page): Promise<BrowserCustomer> {
  const n = `${process.pid % 1000}${randomBytes(2).readUInt16BE() % 10000}`.padStart(8, '0').slice(-8);
  const customer: BrowserCustomer = { email: `money${n}@example.com`, phone: `+8190${n}`, customerId: '', seen: new Set() };
  await page.goto(`${env.base}/wallet/`);
  const started = await pageApi<{ signupId: string }>(page, 'POST', '/v1/customer/signup', { email: customer.email, phone: customer.phone, password: PASSWORD });
  if (started.status !== 202) throw new Error(`signup: ${JSON.stringify(started.json)}`);
  const signupId = started.json.signupId;
  await pageApi(page, 'POST', '/v1/customer/signup/verify', { signupId, channel: 'email', code: await codeFor(env.koban, customer.email, customer.seen) });
  const done = await pageApi<{ customerId: string }>(page, 'POST', '/v1/customer/signup/verify', { signupId, channel: 'phone', code: await codeFor(env.koban, customer.phone, customer.seen) });
  if (done.status !== 200) throw new Error(`signup verify: ${JSON.stringify(done.json)}`);
  customer.customerId = done.json.customerId;
  const grant = await stepUpInPage(env, page, customer, 'change_factors', { factor: 'charge_pin' });
  const pin = await pageApi(page, 'PUT', '/v1/customer/pin', { pin: PIN }, { 'x-step-up-grant': grant });
  if (pin.status !== 200) throw new Error(`pin: ${JSON.stringify(pin.json)}`);
  // These screens are tested as an established customer uses them, with the step-up dialog: the setup window
  // of a fresh sign-up (no code for the first card and top-up; test/identity/setup-window.test.ts,
  // wallet-account.test.ts) is closed as if its ten minutes had passed.
  await env.koban.db.pool.query(`update signup_setup_windows set expires_at = opened_at + interval '1 millisecond' where customer_id = $1`, [customer.customerId]);
  return customer;
}

async function stepUpInPage(env: MoneyEnv, page: Page, customer: BrowserCustomer, action: string, params: Record<string, string>): Promise<string> {
  const started = await pageApi<{ stepUpId: string }>(page, 'POST', '/v1/customer/step-up', { action, params });
  await pageApi(page, 'POST', `/v1/customer/step-up/${started.json.stepUpId}/sms`, {});
  const verified = await pageApi<{ grant: string }>(page, 'POST', `/v1/customer/step-up/${started.json.stepUpId}/verify`, { method: 'sms', code: await codeFor(env.koban, customer.phone, customer.seen) });
  if (verified.status !== 200) throw new Error(`step-up: ${JSON.stringify(verified.json)}`);
  return verified.json.grant;
}

/** Completes the wallet's step-up dialog by SMS (the code from the dev outbox). */
export async function completeStepUpDialog(env: MoneyEnv, page: Page, customer: BrowserCustomer): Promise<void> {
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: ja('stepUp.smsSend') }).click();
  await dialog.getByText(ja('stepUp.smsSent')).waitFor();
  await dialog.getByLabel(ja('stepUp.smsLabel')).fill(await codeFor(env.koban, customer.phone, customer.seen));
  await dialog.getByRole('button', { name: ja('common.confirm') }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** A till charging a customer's code over the signed merchant API, as a store's till would. */
export async function chargeAtTill(env: MoneyEnv, code: string, amount: number): Promise<{ resultInfo: { code: string }; data: { status: string } | null }> {
  const body = JSON.stringify({ merchantPaymentId: `till-${randomBytes(6).toString('hex')}`, code, amount: { amount, currency: 'JPY' }, storeId: env.merchant.storeId, terminalId: env.merchant.terminalIds[0] });
  const authorization = computeOpaAuthHeader({
    apiKey: env.credential.apiKey, apiSecret: env.credential.apiSecret, method: 'POST', path: '/v2/till/payments',
    nonce: randomBytes(8).toString('hex'), epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  const response = await env.koban.payments.opa.app.inject({ method: 'POST', url: '/v2/till/payments', headers: { authorization, 'content-type': 'application/json' }, payload: body });
  return response.json();
}

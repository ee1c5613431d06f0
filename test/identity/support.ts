// A cookie-keeping client over app.inject, and helpers to sign customers up and read their codes from
// the development outbox, the same way a person trying Koban would.
import { randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Koban } from '../../src/koban.ts';

export const PUBLIC_URL = 'https://koban.test';

export interface Client {
  request(options: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  cookies: Map<string, string>;
  csrf: string | null;
  ip: string;
  /** The device key this client signs its requests with, as the wallet does (null: a client without one). */
  deviceKey: DeviceKey | null;
}

/** A device key as the wallet holds it: a non-extractable P-256 private key and its public JWK. */
export interface DeviceKey { privateKey: CryptoKey; publicJwk: JWK }

export async function newDeviceKey(): Promise<DeviceKey> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  return { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
}

/** A DPoP-style proof (src/identity/sessions/device-proof.ts) for one request. */
export async function deviceProof(key: DeviceKey, method: string, uri: string, claims: Record<string, unknown> = {}, iatSec = Math.floor(Date.now() / 1000)): Promise<string> {
  return new SignJWT({ htm: method, htu: uri.split('?')[0], jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .setIssuedAt(iatSec)
    .sign(key.privateKey);
}

/**
 * A cookie-keeping client. Like the wallet, it holds a device key (made on first use) and signs every request
 * with it, so its sessions are bound to it; `{ deviceKey: false }` makes a client without one.
 */
export function newClient(koban: Koban, ip = '198.51.100.7', clientOptions: { deviceKey?: boolean } = {}): Client {
  const cookies = new Map<string, string>();
  const origin = new URL(koban.config.publicUrl).origin;
  let keyMade: Promise<DeviceKey> | null = null;
  const client: Client = {
    cookies, csrf: null, ip, deviceKey: null,
    async request({ method, url, body, headers = {} }) {
      if (clientOptions.deviceKey !== false && client.deviceKey === null) {
        keyMade ??= newDeviceKey();
        client.deviceKey = await keyMade;
      }
      const proof = client.deviceKey === null ? {} : { dpop: await deviceProof(client.deviceKey, method, `${origin}${url}`) };
      const cookieHeader = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const options: InjectOptions = {
        method, url, remoteAddress: client.ip,
        headers: { ...(cookieHeader === '' ? {} : { cookie: cookieHeader }), ...(client.csrf === null ? {} : { 'x-csrf-token': client.csrf }), ...proof, ...headers },
        ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
      };
      const response = await koban.app.inject(options);
      for (const c of response.cookies) {
        if (c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0)) cookies.delete(c.name);
        else cookies.set(c.name, c.value);
      }
      const json = response.headers['content-type']?.toString().includes('json') ? (response.json() as { csrfToken?: unknown }) : null;
      if (json !== null && typeof json.csrfToken === 'string') client.csrf = json.csrfToken;
      return response;
    },
  };
  return client;
}

/** Delivers the outbox and returns the newest message body sent to `to`. */
export async function lastMessage(koban: Koban, to: string): Promise<string> {
  await koban.notifications.dispatchOnce();
  const response = await koban.app.inject({ method: 'GET', url: `/dev/outbox.json?to=${encodeURIComponent(to)}` });
  const messages = (response.json() as { messages: Array<{ body: string }> }).messages;
  return messages[0]?.body ?? '';
}

export async function messagesTo(koban: Koban, to: string): Promise<Array<{ kind: string; body: string }>> {
  await koban.notifications.dispatchOnce();
  const response = await koban.app.inject({ method: 'GET', url: `/dev/outbox.json?to=${encodeURIComponent(to)}` });
  return (response.json() as { messages: Array<{ kind: string; body: string }> }).messages;
}

/** The code in the newest message to `to` that carries one (alerts carry none). */
export async function lastCode(koban: Koban, to: string): Promise<string> {
  const withCode = (await messagesTo(koban, to)).find((m) => /\b[0-9]{6}\b/.test(m.body));
  const match = /\b([0-9]{6})\b/.exec(withCode?.body ?? '');
  if (match?.[1] === undefined) throw new Error(`no code was sent to ${to}`);
  return match[1];
}

export interface Customer { email: string; phone: string; password: string; customerId: string; client: Client }

let counter = 0;
export function uniqueContacts(): { email: string; phone: string } {
  counter++;
  const n = String(process.pid % 1000).padStart(3, '0') + String(counter).padStart(5, '0');
  return { email: `user${n}@example.com`, phone: `+8190${n}` };
}

/**
 * Headers for a request made outside the client (a real `fetch` to a listening Koban, e.g. a notification
 * stream): the client's cookies and, when it holds a device key, a fresh proof for `publicUrl` + `path`.
 */
export async function rawRequestHeaders(client: Client, publicUrl: string, method: string, path: string): Promise<Record<string, string>> {
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  if (client.deviceKey === null) return { cookie };
  return { cookie, dpop: await deviceProof(client.deviceKey, method, `${new URL(publicUrl).origin}${path}`) };
}

/** Signs a customer up through the API and returns a client signed in on its remembered device. */
export async function signUp(koban: Koban, password = 'correct horse battery staple', given?: Client): Promise<Customer> {
  const { email, phone } = uniqueContacts();
  // Each sign-up from its own address: sign-ups per IP are limited (SMS pumping).
  const client = given ?? newClient(koban, `198.18.${Math.floor(counter / 250) % 250}.${counter % 250}`);
  const started = await client.request({ method: 'POST', url: '/v1/customer/signup', body: { email, phone, password } });
  if (started.statusCode !== 202) throw new Error(`signup failed: ${started.body}`);
  const { signupId } = started.json() as { signupId: string };
  await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'email', code: await lastCode(koban, email) } });
  const done = await client.request({ method: 'POST', url: '/v1/customer/signup/verify', body: { signupId, channel: 'phone', code: await lastCode(koban, phone) } });
  if (done.statusCode !== 200) throw new Error(`signup verify failed: ${done.body}`);
  return { email, phone, password, customerId: (done.json() as { customerId: string }).customerId, client };
}

/** Runs a step-up by SMS for action+params and returns the grant. */
export async function stepUpBySms(koban: Koban, customer: Customer, action: string, params: Record<string, string | number>): Promise<string> {
  const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action, params } });
  if (started.statusCode !== 200) throw new Error(`step-up start failed: ${started.body}`);
  const { stepUpId } = started.json() as { stepUpId: string };
  await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/sms`, body: {} });
  const verified = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/verify`, body: { method: 'sms', code: await lastCode(koban, customer.phone) } });
  if (verified.statusCode !== 200) throw new Error(`step-up verify failed: ${verified.body}`);
  return (verified.json() as { grant: string }).grant;
}

/** Runs a step-up with a passkey (a soft authenticator's `assert`) for action+params and returns the grant. */
export async function stepUpByPasskey(customer: Customer, assert: (options: never) => unknown, action: string, params: Record<string, string | number>): Promise<string> {
  const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action, params } });
  if (started.statusCode !== 200) throw new Error(`step-up start failed: ${started.body}`);
  const { stepUpId } = started.json() as { stepUpId: string };
  const options = (await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/passkey-options`, body: {} })).json() as { challengeId: string; options: never };
  const verified = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${stepUpId}/verify`, body: { method: 'passkey', webauthnChallengeId: options.challengeId, credential: assert(options.options) } });
  if (verified.statusCode !== 200) throw new Error(`step-up verify failed: ${verified.body}`);
  return (verified.json() as { grant: string }).grant;
}

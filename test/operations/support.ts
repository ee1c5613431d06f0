/**
 * Operator helpers for the operations tests: create an operator of a role and sign in over HTTP the way an
 * operator does since issue 14 — password + TOTP open an enrolment session, a passkey (a software
 * authenticator holding a real P-256 key) is registered in it, and the passkey signs in for work.
 */
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import type { OperatorRole } from '../../src/operations/operators/permissions.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from '../identity/support/soft-authenticator.ts';

export interface SignedInOperator {
  readonly id: string;
  readonly email: string;
  readonly role: OperatorRole;
  readonly cookie: string;
  readonly csrf: string;
  readonly headers: Record<string, string>;
  readonly password: string;
  readonly totpSecret: string;
  /** The operator's passkey: sign in again with `signInWithPasskey`. */
  readonly authenticator: SoftAuthenticator;
}

/** The code for the next 30-second step: a second sign-in in the same step would be a replay. */
export async function totpCode(secret: string, stepOffset = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + stepOffset * 30 });
}

export async function createOperator(koban: Koban, role: OperatorRole) {
  const email = `${role}-${randomUUID().slice(0, 8)}@ops.koban.test`;
  return koban.operations.operators.create({ email, role, displayName: `${role} operator` }, { kind: 'system', id: 'test' });
}

export async function signInAs(koban: Koban, role: OperatorRole): Promise<SignedInOperator> {
  const created = await createOperator(koban, role);
  const authenticator = await enrolPasskey(koban, created.operator.email, created.password, created.totpSecret);
  const session = await signInWithPasskey(koban, authenticator);
  return { id: created.operator.id, email: created.operator.email, role, ...session, password: created.password, totpSecret: created.totpSecret, authenticator };
}

/** The first sign-in: password + TOTP (an enrolment session), then a passkey registered in it; the session ends. */
/** Where an operator's browser is: its address and user agent (sessions are bound to both). */
export interface From { readonly remoteAddress?: string; readonly userAgent?: string }
const headersFrom = (from: From): Record<string, string> => (from.userAgent === undefined ? {} : { 'user-agent': from.userAgent });
const addressFrom = (from: From) => (from.remoteAddress === undefined ? {} : { remoteAddress: from.remoteAddress });

export async function enrolPasskey(koban: Koban, email: string, password: string, totpSecret: string, from: From = {}): Promise<SoftAuthenticator> {
  const headers = headersFrom(from);
  const inject = (options: { method: 'POST'; url: string; headers: Record<string, string>; payload?: object }) => koban.app.inject({ ...options, ...addressFrom(from) });
  const first = await inject({ method: 'POST', url: '/v1/ops/session', headers, payload: { email, password, totpCode: await totpCode(totpSecret) } });
  expect(first.statusCode, first.body).toBe(200);
  expect(first.json().sessionKind).toBe('enrolment');
  const enrolment = { ...headers, ...sessionHeaders(first) };
  const authenticator = createSoftAuthenticator(koban.config.identity.webauthnOrigins[0] ?? 'http://localhost');
  const options = await inject({ method: 'POST', url: '/v1/ops/passkeys/registration-options', headers: enrolment });
  expect(options.statusCode, options.body).toBe(200);
  const registered = await inject({ method: 'POST', url: '/v1/ops/passkeys', headers: enrolment,
    payload: { challengeId: options.json().challengeId, response: authenticator.register(options.json().options), name: 'test key' } });
  expect(registered.statusCode, registered.body).toBe(200);
  expect(registered.json()).toEqual({ sessionEnded: true });
  return authenticator;
}

/** A passkey sign-in: the session operators work in. */
export async function signInWithPasskey(koban: Koban, authenticator: SoftAuthenticator, from: From = {}): Promise<{ cookie: string; csrf: string; headers: Record<string, string> }> {
  const headers = headersFrom(from);
  const options = await koban.app.inject({ method: 'POST', url: '/v1/ops/session/passkey-options', headers, ...addressFrom(from) });
  expect(options.statusCode, options.body).toBe(200);
  const response = await koban.app.inject({ method: 'POST', url: '/v1/ops/session/passkey', headers, ...addressFrom(from),
    payload: { challengeId: options.json().challengeId, response: authenticator.assert(options.json().options) } });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.json().sessionKind).toBe('full');
  const session = sessionHeaders(response);
  return { cookie: session.cookie, csrf: session['x-csrf-token'], headers: { ...headers, ...session } };
}

function sessionHeaders(response: { headers: Record<string, unknown>; json(): { csrfToken: string } }): { cookie: string; 'x-csrf-token': string } {
  const cookie = String(response.headers['set-cookie']).split(';')[0] ?? '';
  return { cookie, 'x-csrf-token': response.json().csrfToken };
}

export function opsRequest(koban: Koban, operator: SignedInOperator | null) {
  return (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    koban.app.inject({ method, url, headers: operator?.headers ?? {}, ...(payload === undefined ? {} : { payload: payload as object }) });
}

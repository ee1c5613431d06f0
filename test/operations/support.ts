/** Operator helpers for the operations tests: create an operator of a role and sign in over HTTP. */
import { randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import type { OperatorRole } from '../../src/operations/operators/permissions.ts';

export interface SignedInOperator {
  readonly id: string;
  readonly email: string;
  readonly role: OperatorRole;
  readonly cookie: string;
  readonly csrf: string;
  readonly headers: Record<string, string>;
  readonly password: string;
  readonly totpSecret: string;
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
  const response = await koban.app.inject({ method: 'POST', url: '/v1/ops/session',
    payload: { email: created.operator.email, password: created.password, totpCode: await totpCode(created.totpSecret) } });
  expect(response.statusCode, response.body).toBe(200);
  const setCookie = String(response.headers['set-cookie']);
  const cookie = setCookie.split(';')[0] ?? '';
  const csrf = response.json().csrfToken as string;
  return { id: created.operator.id, email: created.operator.email, role, cookie, csrf, headers: { cookie, 'x-csrf-token': csrf },
    password: created.password, totpSecret: created.totpSecret };
}

export function opsRequest(koban: Koban, operator: SignedInOperator | null) {
  return (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    koban.app.inject({ method, url, headers: operator?.headers ?? {}, ...(payload === undefined ? {} : { payload: payload as object }) });
}

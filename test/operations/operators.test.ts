/** Operators: a separate realm with mandatory TOTP, short sessions and least privilege on every route. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verify } from 'otplib';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import type { Koban } from '../../src/koban.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { registerOperationsRoutes } from '../../src/operations/routes.ts';
import { startTestKoban, ledgerAuth } from '../support/koban.ts';
import { createOperator, opsRequest, signInAs, totpCode } from './support.ts';
import { acquireFolderLock } from '../../src/platform/db/folder-lock.ts';
import { DEMO_OPERATOR_TOTP_SECRET } from '../../src/operations/operators/demo.ts';

const run = promisify(execFile);
let koban: Koban;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ koban, close } = await startTestKoban());
});
afterAll(async () => close());

const signIn = (payload: object) => koban.app.inject({ method: 'POST', url: '/v1/ops/session', payload });
const lastAudit = async (action: string) => (await koban.db.pool.query('select * from audit_events where action = $1 order by id desc limit 1', [action])).rows[0];

describe('operator sign-in', () => {
  it('the first password + TOTP sign-in opens an enrolment session, with a __Host- cookie that is Secure, HttpOnly and SameSite=Strict', async () => {
    const created = await createOperator(koban, 'support');
    const response = await signIn({ email: created.operator.email, password: created.password, totpCode: await totpCode(created.totpSecret) });
    expect(response.statusCode).toBe(200);
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-koban_operator=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    expect(response.json()).toMatchObject({ operator: { role: 'support' }, sessionKind: 'enrolment' });
    const me = await koban.app.inject({ method: 'GET', url: '/v1/ops/session', headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(me.json()).toMatchObject({ email: created.operator.email, role: 'support', sessionKind: 'enrolment' });
    expect(await lastAudit('operator.sign_in')).toMatchObject({ actor_id: created.operator.id, outcome: 'success' });
  });

  it('the right password without the right TOTP code is refused (TOTP is mandatory)', async () => {
    const created = await createOperator(koban, 'administrator');
    for (const code of ['000000', '', 'abcdef']) {
      const response = await signIn({ email: created.operator.email, password: created.password, totpCode: code });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('operator_sign_in_failed');
    }
  });

  it('a TOTP code cannot be replayed for a second session', async () => {
    const created = await createOperator(koban, 'support');
    const code = await totpCode(created.totpSecret);
    expect((await signIn({ email: created.operator.email, password: created.password, totpCode: code })).statusCode).toBe(200);
    expect((await signIn({ email: created.operator.email, password: created.password, totpCode: code })).statusCode).toBe(401);
  });

  it('two sign-ins racing with one TOTP code give one session', async () => {
    const created = await createOperator(koban, 'support');
    const code = await totpCode(created.totpSecret);
    const results = await Promise.all([1, 2, 3].map(() => signIn({ email: created.operator.email, password: created.password, totpCode: code })));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
  });

  it('an unknown e-mail gets the same answer as a wrong password', async () => {
    const created = await createOperator(koban, 'support');
    const unknown = await signIn({ email: 'nobody@ops.koban.test', password: 'whatever-password', totpCode: '123456' });
    const wrong = await signIn({ email: created.operator.email, password: 'wrong-password-1', totpCode: '123456' });
    expect(unknown.statusCode).toBe(wrong.statusCode);
    expect(unknown.json().title).toBe(wrong.json().title);
  });

  it('five failed sign-ins lock the operator, even against the right credentials afterwards', async () => {
    const created = await createOperator(koban, 'finance');
    for (let i = 0; i < 5; i++) await signIn({ email: created.operator.email, password: 'wrong-password-1', totpCode: '123456' });
    const right = await signIn({ email: created.operator.email, password: created.password, totpCode: await totpCode(created.totpSecret) });
    expect(right.statusCode).toBe(401);
    expect(await lastAudit('operator.sign_in')).toMatchObject({ actor_id: created.operator.id, outcome: 'failure', details: { why: 'locked' } });
  });
});

describe('operator sessions', () => {
  it('a customer session cookie is not accepted by the operator API', async () => {
    for (const cookie of ['__Host-koban_session=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ', 'koban_session=x', 'session=abc']) {
      const response = await koban.app.inject({ method: 'GET', url: '/v1/ops/switches', headers: { cookie } });
      expect(response.statusCode).toBe(401);
    }
  });

  it('a bearer token (even the internal ledger token) is not accepted by the operator API', async () => {
    const response = await koban.app.inject({ method: 'GET', url: '/v1/ops/switches', headers: ledgerAuth });
    expect(response.statusCode).toBe(401);
  });

  it('a session idle for more than 15 minutes is refused', async () => {
    const operator = await signInAs(koban, 'support');
    expect((await opsRequest(koban, operator)('GET', '/v1/ops/switches')).statusCode).toBe(200);
    await koban.db.pool.query(`update operator_sessions set last_seen_at = now() - interval '16 minutes' where operator_id = $1`, [operator.id]);
    expect((await opsRequest(koban, operator)('GET', '/v1/ops/switches')).statusCode).toBe(401);
  });

  it('a state change without the CSRF token is refused and audited', async () => {
    const operator = await signInAs(koban, 'risk_analyst');
    const response = await koban.app.inject({ method: 'PUT', url: '/v1/ops/switches/top_ups', headers: { cookie: operator.cookie }, payload: { state: 'off', reason: 'forged request' } });
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('csrf_failed');
    expect(koban.operations.switches.isOn('top_ups')).toBe(true);
    expect(await lastAudit('operator.request_denied')).toMatchObject({ actor_id: operator.id, outcome: 'denied', details: { why: 'csrf' } });
  });

  it('sign-out ends the session on the server', async () => {
    const operator = await signInAs(koban, 'support');
    expect((await opsRequest(koban, operator)('DELETE', '/v1/ops/session')).statusCode).toBe(204);
    expect((await opsRequest(koban, operator)('GET', '/v1/ops/session')).statusCode).toBe(401);
  });

  it('disabling an operator ends every session they have', async () => {
    const admin = await signInAs(koban, 'administrator');
    const support = await signInAs(koban, 'support');
    const response = await opsRequest(koban, admin)('POST', `/v1/ops/operators/${support.id}/status`, { status: 'disabled', reason: 'left the company' });
    expect(response.statusCode).toBe(200);
    expect((await opsRequest(koban, support)('GET', '/v1/ops/session')).statusCode).toBe(401);
  });
});

describe('operator permissions', () => {
  it('a support operator cannot change a kill switch, and the refusal is audited', async () => {
    const support = await signInAs(koban, 'support');
    const response = await opsRequest(koban, support)('PUT', '/v1/ops/switches/payments', { state: 'off', reason: 'trying' });
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('operator_permission_denied');
    expect(koban.operations.switches.isOn('payments')).toBe(true);
    expect(await lastAudit('operator.request_denied')).toMatchObject({ actor_id: support.id, details: { why: 'role', permission: 'switches.change' } });
  });

  it('a risk analyst can change a kill switch through the API, with its reason audited', async () => {
    const analyst = await signInAs(koban, 'risk_analyst');
    const off = await opsRequest(koban, analyst)('PUT', '/v1/ops/switches/funding.card', { state: 'off', reason: 'card testing attack' });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ name: 'funding.card', state: 'off', effective: 'off', lastChange: { reason: 'card testing attack' } });
    expect(await lastAudit('switch.turned_off')).toMatchObject({ actor_id: analyst.id, target_id: 'funding.card' });
    await opsRequest(koban, analyst)('PUT', '/v1/ops/switches/funding.card', { state: 'on', reason: 'over' });
  });

  it('only an administrator can create operators or read the operator list', async () => {
    for (const role of ['support', 'risk_analyst', 'finance'] as const) {
      const operator = await signInAs(koban, role);
      expect((await opsRequest(koban, operator)('POST', '/v1/ops/operators', { email: 'x@ops.koban.test', displayName: 'x', role: 'administrator' })).statusCode).toBe(403);
      expect((await opsRequest(koban, operator)('GET', '/v1/ops/operators')).statusCode).toBe(403);
    }
    const admin = await signInAs(koban, 'administrator');
    const created = await opsRequest(koban, admin)('POST', '/v1/ops/operators', { email: 'new-support@ops.koban.test', displayName: 'New', role: 'support' });
    expect(created.statusCode).toBe(201);
    expect(created.json().totpSecret).toMatch(/^[A-Z2-7]{32}$/);
  });

  it('a support operator cannot read the audit log; an analyst can, and reading it writes no row that would bury real actions', async () => {
    const support = await signInAs(koban, 'support');
    expect((await opsRequest(koban, support)('GET', '/v1/ops/audit')).statusCode).toBe(403);
    const analyst = await signInAs(koban, 'risk_analyst');
    const count = async () => Number((await koban.db.pool.query<{ n: string }>('select count(*) as n from audit_events')).rows[0]?.n);
    const before = await count();
    for (let i = 0; i < 3; i++) expect((await opsRequest(koban, analyst)('GET', '/v1/ops/audit?limit=5')).statusCode).toBe(200);
    expect(await count()).toBe(before);
    const events = (await opsRequest(koban, analyst)('GET', '/v1/ops/audit?limit=200')).json().events as Array<{ action: string }>;
    expect(events.some((event) => event.action === 'audit.read')).toBe(false);
  });

  it('a route that declares no permission is refused to every role (deny by default)', async () => {
    const app = await createHttpApp({ logLevel: 'silent', metrics: createMetrics({ defaultMetrics: false }), publicUrl: 'http://127.0.0.1' });
    registerOperationsRoutes(app, koban.operations, [(scope) => {
      scope.get('/v1/ops/forgotten', { schema: { response: { 200: Type.Object({ secret: Type.String() }) } } }, async () => ({ secret: 'leaked' }));
    }]);
    await app.ready();
    const admin = await signInAs(koban, 'administrator');
    const response = await app.inject({ method: 'GET', url: '/v1/ops/forgotten', headers: admin.headers });
    expect(response.statusCode).toBe(403);
    await app.close();
  });

  it('every operator route in the OpenAPI document refuses a request without a session', async () => {
    const document = (await koban.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).filter(([path]) => path.startsWith('/v1/ops'))
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() })));
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) {
      // The sign-in ceremonies are how a session starts.
      if (['/v1/ops/session', '/v1/ops/session/passkey-options', '/v1/ops/session/passkey', '/v1/ops/session/break-glass', '/v1/ops/session/break-glass/{id}'].includes(route.path) && route.method === 'POST') continue;
      const url = route.path.replaceAll(/\{[^}]+\}/g, '00000000-0000-7000-8000-000000000001');
      const response = await koban.app.inject({ method: route.method as 'GET', url, payload: route.method === 'GET' ? undefined : {} });
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(401);
    }
  });
});

describe('koban operator create', () => {
  it('bootstraps an administrator from the command line who can then sign in with the printed secrets', async () => {
    const email = `boot-${Date.now()}@ops.koban.test`;
    const { stdout } = await run(process.execPath, ['bin/koban.mjs', 'operator', 'create', '--role', 'administrator', '--email', email],
      { env: { ...process.env, DATABASE_URL: (koban.db as { url?: string }).url ?? '', NODE_ENV: 'test' } });
    const password = /password\s+(\S+)/.exec(stdout)?.[1] ?? '';
    const secret = /TOTP secret\s+(\S+)/.exec(stdout)?.[1] ?? '';
    const response = await signIn({ email, password, totpCode: await totpCode(secret) });
    expect(response.statusCode).toBe(200);
    expect(response.json().operator.role).toBe('administrator');
    expect(await lastAudit('operator.created')).toMatchObject({ actor_kind: 'cli', target_id: response.json().operator.id });
  });
});

describe('koban operator demo-code', () => {
  it('prints the demo operators\' current code while a running Koban holds the embedded folder (it opens no database)', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'koban-locked-'));
    const lock = acquireFolderLock(path.join(folder, 'data'));
    try {
      const { stdout } = await run(process.execPath, ['bin/koban.mjs', 'operator', 'demo-code'],
        { env: { ...process.env, DATABASE_URL: '', KOBAN_DATA_DIR: path.join(folder, 'data'), NODE_ENV: 'development' } });
      const printed = stdout.trim();
      expect(printed).toMatch(/^[0-9]{6}$/);
      // The code of this 30-second step (or of the one before, if the step turned meanwhile).
      expect((await verify({ secret: DEMO_OPERATOR_TOTP_SECRET, token: printed, epochTolerance: 30 })).valid).toBe(true);
    } finally {
      lock.release();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

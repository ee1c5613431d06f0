/** The HTTP shell: problem+json everywhere, strict JSON, request ids, OpenAPI, health and metrics. */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { ledgerAuth, startTestKoban } from '../support/koban.ts';

let koban: Koban;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ koban, close } = await startTestKoban());
});
afterAll(async () => close());

const transfersUrl = '/v1/ledger/transfers';

describe('errors are RFC 9457 problem documents', () => {
  it('an unknown route', async () => {
    const response = await koban.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ type: '/problems/not_found', status: 404, code: 'not_found', instance: '/nope' });
  });

  it('a validation failure names the field', async () => {
    const response = await koban.app.inject({ method: 'POST', url: transfersUrl, headers: ledgerAuth, payload: { transfers: [{ id: 'x', ledger: 392 }] } });
    expect(response.statusCode).toBe(400);
    const problem = response.json();
    expect(problem.code).toBe('validation_failed');
    const pointers = problem.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toContain('/body/transfers/0/id');
    expect(pointers).toContain('/body/transfers/0/code');
  });

  it.each([
    ['1e3', '1e3'], ['1.5', '1.5'], ['100.0', '100.0'], ['9007199254740993', '9007199254740993'],
  ])('refuses the number %s anywhere in a body, naming where', async (literal) => {
    const body = `{"transfers":[{"id":"0190a000-0000-7000-8000-000000000009","debitAccountId":"0190a000-0000-7000-8000-00000000000a","creditAccountId":"0190a000-0000-7000-8000-00000000000b","amount":${literal},"ledger":392,"code":2}]}`;
    const response = await koban.app.inject({ method: 'POST', url: transfersUrl, headers: { ...ledgerAuth, 'content-type': 'application/json' }, payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ pointer: '/body/transfers/0/amount', message: expect.stringContaining(literal) }]);
  });

  it('refuses malformed JSON, other media types and oversized bodies', async () => {
    const malformed = await koban.app.inject({ method: 'POST', url: transfersUrl, headers: { ...ledgerAuth, 'content-type': 'application/json' }, payload: '{"transfers": [' });
    expect(malformed.json()).toMatchObject({ status: 400, code: 'invalid_json' });
    const text = await koban.app.inject({ method: 'POST', url: transfersUrl, headers: { ...ledgerAuth, 'content-type': 'text/plain' }, payload: 'hi' });
    expect(text.json()).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const huge = await koban.app.inject({ method: 'POST', url: transfersUrl, headers: { ...ledgerAuth, 'content-type': 'application/json' }, payload: `{"x":"${'a'.repeat(300_000)}"}` });
    expect(huge.json()).toMatchObject({ status: 413, code: 'body_too_large' });
  });

  it.each(['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON', 'application/merge-patch+json'])('accepts the JSON media type %s', async (contentType) => {
    const response = await koban.app.inject({ method: 'POST', url: '/v1/ledger/accounts', headers: { ...ledgerAuth, 'content-type': contentType }, payload: '{"accounts":[]}' });
    expect(response.json().errors).toContainEqual({ pointer: '/body/accounts', message: 'must NOT have fewer than 1 items' });
  });

  it('unknown fields are refused rather than ignored', async () => {
    const response = await koban.app.inject({ method: 'POST', url: '/v1/ledger/accounts', headers: ledgerAuth, payload: { accounts: [{ id: '0190a000-0000-7000-8000-000000000001', ledger: 392, code: 100, balance: '1000000' }] } });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toContainEqual({ pointer: '/body/accounts/0/balance', message: 'is not an allowed field' });
  });

  it('the ledger API refuses a missing or wrong token', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: 'Basic abc' }]) {
      const response = await koban.app.inject({ method: 'GET', url: '/v1/ledger/accounts/0190a000-0000-7000-8000-000000000001', headers });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('unauthenticated');
    }
  });

  it('every problem type is documented at its type URI', async () => {
    const response = await koban.app.inject({ method: 'GET', url: '/problems/validation_failed' });
    expect(response.json()).toMatchObject({ code: 'validation_failed', status: 400 });
  });
});

describe('operations endpoints', () => {
  it('echoes a safe caller request id and makes one otherwise', async () => {
    const given = await koban.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'till-42.abc' } });
    expect(given.headers['x-request-id']).toBe('till-42.abc');
    const unsafe = await koban.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\nc' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('healthz and readyz report the process and the database', async () => {
    // Without KOBAN_NODE_ID a node names itself hostname:pid, so several behind a load balancer can be told apart.
    expect((await koban.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok', node: `${hostname()}:${process.pid}` });
    const ready = await koban.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', database: 'reachable', migrations: 'current' });
  });

  it('readyz says not ready when migrations are missing', async () => {
    await koban.db.pool.query('insert into schema_migrations (version, name, checksum) values (9999, $1, $2)', ['future', 'x']);
    try {
      const ready = await koban.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().migrations).toBe('pending');
    } finally {
      await koban.db.pool.query('delete from schema_migrations where version = 9999');
    }
  });

  it('serves Prometheus metrics', async () => {
    await koban.app.inject({ method: 'GET', url: '/healthz' });
    const metrics = await koban.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/text\/plain/);
    expect(metrics.body).toContain('koban_http_request_duration_seconds_bucket');
    expect(metrics.body).toContain('route="/healthz"');
    expect(metrics.body).toContain(`koban_node_info{node="${hostname()}:${process.pid}"} 1`);
  });

  it('names the node KOBAN_NODE_ID says in /healthz and the metrics', async () => {
    const named = await startTestKoban({ env: { KOBAN_NODE_ID: 'koban-b' } });
    try {
      expect((await named.koban.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok', node: 'koban-b' });
      expect((await named.koban.app.inject({ method: 'GET', url: '/metrics' })).body).toContain('koban_node_info{node="koban-b"} 1');
    } finally {
      await named.close();
    }
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas, and a docs page', async () => {
    const document = (await koban.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/ledger/transfers', '/v1/ledger/accounts/{id}', '/healthz', '/readyz']));
    expect(document.paths['/v1/ledger/transfers'].post.requestBody).toBeDefined();
    const docs = await koban.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });
});

// The official PayPay Node SDK, unmodified, in its own process, talking HTTPS to a local server that
// authenticates it with verifyOpaAuth. This is how a merchant's integration would reach Koban:
// `Conf({ hostName, portNumber })` for the address and NODE_EXTRA_CA_CERTS for trust (see SDK-NOTES.md).

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevTls, readDevTlsServerOptions } from '../../platform/tls/dev-ca.ts';
import type { DevTlsPaths } from '../../platform/tls/dev-ca.ts';
import { MemoryNonceStore } from './nonce-store.ts';
import { opaReply, opaUnauthorized } from './result-info.ts';
import { verifyOpaAuth } from './signature.ts';
import type { OpaAuthResult } from './signature.ts';

const execFileAsync = promisify(execFile);
const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const API_KEY = 'koban_test_key';
const API_SECRET = 'koban-test-secret';
const MERCHANT_ID = 'merchant-42';
const BODY_LIMIT_BYTES = 64 * 1024;
const CHILD_TIMEOUT_MS = 20_000;

type Captured = {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  assumeMerchant: string | undefined;
  rawBody: Buffer | undefined;
  result: OpaAuthResult;
};

// Runs in the child: plain CommonJS, exactly what a merchant would write.
const SDK_SCRIPT = `
const { PayPayRestSDK, Conf } = require('@paypayopa/paypayopa-sdk-node');
const sdk = new PayPayRestSDK();
sdk.configure({
  clientId: process.env.KOBAN_TEST_KEY,
  clientSecret: process.env.KOBAN_TEST_SECRET,
  merchantId: process.env.KOBAN_TEST_MERCHANT,
  conf: new Conf({ hostName: '127.0.0.1', portNumber: Number(process.env.KOBAN_TEST_PORT) }),
});
(async () => {
  const amount = { amount: 480, currency: 'JPY' };
  const results = [
    await sdk.qrCodeCreate({ merchantPaymentId: 'm-1', amount, codeType: 'ORDER_QR', orderDescription: 'コーヒー ☕' }),
    await sdk.getCodePaymentDetails(['m-1']),
    await sdk.qrCodeDelete(['code-1']),
    await sdk.createPayment({ merchantPaymentId: 'm-2', userAuthorizationId: 'u-1', amount }, true),
  ];
  process.stdout.write('\\nRESULTS ' + JSON.stringify(results) + '\\n');
})();
`;

type SdkResult = { STATUS: number; BODY?: { resultInfo: { code: string }; data: unknown }; ERROR?: string };

async function runSdk(port: number, env: Record<string, string | undefined>): Promise<SdkResult[]> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, KOBAN_TEST_PORT: String(port), ...env };
  delete childEnv.NODE_TLS_REJECT_UNAUTHORIZED; // the test must prove trust, not switch checking off
  const { stdout } = await execFileAsync(process.execPath, ['-e', SDK_SCRIPT], {
    cwd: PROJECT_ROOT,
    env: childEnv,
    timeout: CHILD_TIMEOUT_MS,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULTS '));
  if (line === undefined) throw new Error(`SDK child printed no results:\n${stdout}`);
  return JSON.parse(line.slice('RESULTS '.length)) as SdkResult[];
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function startKobanStub(tls: DevTlsPaths, captured: Captured[], nonceStore: MemoryNonceStore) {
  const app: FastifyInstance = Fastify({ https: await readDevTlsServerOptions(tls), bodyLimit: BODY_LIMIT_BYTES });
  // The signature covers the exact bytes received, so the body must reach us unparsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/*',
    handler: async (request, reply) => {
      const contentType = singleHeader(request.headers['content-type']);
      const rawBody = Buffer.isBuffer(request.body) ? request.body : undefined;
      const result = await verifyOpaAuth({
        header: singleHeader(request.headers.authorization),
        method: request.method,
        path: request.raw.url ?? '',
        contentType,
        rawBody,
        lookupSecret: async (apiKey) => (apiKey === API_KEY ? API_SECRET : null),
        nowSec: Math.floor(Date.now() / 1000),
        nonceStore,
      });
      captured.push({
        method: request.method,
        url: request.raw.url ?? '',
        authorization: singleHeader(request.headers.authorization),
        contentType,
        assumeMerchant: singleHeader(request.headers['x-assume-merchant']),
        rawBody,
        result,
      });
      const answer = result.outcome === 'ok' ? opaReply('SUCCESS', { data: { seen: request.method } }) : opaUnauthorized();
      return reply.code(answer.statusCode).send(answer.body);
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port };
}

describe('the official PayPay Node SDK against a Koban HTTPS endpoint', () => {
  let dir = '';
  let tls: DevTlsPaths;
  let app: FastifyInstance;
  let port = 0;
  const captured: Captured[] = [];
  const nonceStore = new MemoryNonceStore();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koban-opa-sdk-'));
    tls = await ensureDevTls({ dir });
    ({ app, port } = await startKobanStub(tls, captured, nonceStore));
  });
  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('authenticates POST, GET, DELETE and POST-with-query requests signed by the SDK', async () => {
    captured.length = 0;
    const results = await runSdk(port, {
      NODE_EXTRA_CA_CERTS: tls.caCertPath,
      KOBAN_TEST_KEY: API_KEY,
      KOBAN_TEST_SECRET: API_SECRET,
      KOBAN_TEST_MERCHANT: MERCHANT_ID,
    });
    expect(captured.map((c) => [c.method, c.url, c.result.outcome])).toEqual([
      ['POST', '/v2/codes', 'ok'],
      ['GET', '/v2/codes/payments/m-1', 'ok'],
      ['DELETE', '/v2/codes/code-1', 'ok'],
      ['POST', '/v2/payments?agreeSimilarTransaction=true', 'ok'],
    ]);
    expect(results.map((r) => [r.STATUS, r.BODY?.resultInfo.code])).toEqual(Array(4).fill([200, 'SUCCESS']));
  });

  it('sends the headers SDK-NOTES.md describes', () => {
    const [post, get] = captured;
    expect(post?.contentType).toBe('application/json');
    expect(get?.contentType).toBeUndefined();
    expect(captured.every((c) => c.assumeMerchant === MERCHANT_ID)).toBe(true);
    // The SDK overwrites requestedAt with its own clock before signing.
    expect(JSON.parse(post?.rawBody?.toString('utf8') ?? '{}')).toHaveProperty('requestedAt');
  });

  it('rejects a captured SDK request replayed within the clock window', async () => {
    const original = captured[0];
    if (original === undefined) throw new Error('no captured request');
    const replay = await verifyOpaAuth({
      header: original.authorization,
      method: original.method,
      path: original.url,
      contentType: original.contentType,
      rawBody: original.rawBody,
      lookupSecret: async () => API_SECRET,
      nowSec: Math.floor(Date.now() / 1000),
      nonceStore,
    });
    expect(replay).toEqual({ outcome: 'replayed_nonce' });
  });

  it('answers an SDK using the wrong secret with the UNAUTHORIZED envelope', async () => {
    captured.length = 0;
    const results = await runSdk(port, {
      NODE_EXTRA_CA_CERTS: tls.caCertPath,
      KOBAN_TEST_KEY: API_KEY,
      KOBAN_TEST_SECRET: 'stolen-key-wrong-secret',
      KOBAN_TEST_MERCHANT: MERCHANT_ID,
    });
    expect(captured.map((c) => c.result.outcome)).toEqual(Array(4).fill('bad_signature'));
    expect(results.map((r) => [r.STATUS, r.BODY?.resultInfo.code])).toEqual(Array(4).fill([401, 'UNAUTHORIZED']));
  });

  it('refuses to talk to the endpoint when the dev CA is not trusted (no TLS bypass)', async () => {
    captured.length = 0;
    const results = await runSdk(port, {
      NODE_EXTRA_CA_CERTS: undefined,
      KOBAN_TEST_KEY: API_KEY,
      KOBAN_TEST_SECRET: API_SECRET,
      KOBAN_TEST_MERCHANT: MERCHANT_ID,
    });
    expect(captured).toEqual([]);
    const certificateRejected = expect.stringMatching(/^unable to verify the first certificate/);
    expect(results.map((r) => r.ERROR)).toEqual(Array(4).fill(certificateRejected));
  });
});

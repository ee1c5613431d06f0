/**
 * A payments module on its own database, driven through the OPA listener with app.inject and requests
 * signed exactly as the PayPay SDK signs them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { createApiCredential, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import type { PaymentHooks } from '../../src/payments/context.ts';
import type { Logger, MerchantEventSink, PaymentRisk, PaymentRiskEvent, PaymentSwitches } from '../../src/payments/deps.ts';
import { KobanError } from '../../src/platform/errors.ts';
import { ensurePlatformAccounts } from '../../src/ledger/platform-accounts.ts';
import { createPaymentsModule, type PaymentsModule } from '../../src/payments/module.ts';
import { createTestHeaderAuthenticator } from '../../src/payments/test-support/header-authenticator.ts';
import { createHttpApp, type App } from '../../src/http/app.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import type { WebhookTransport } from '../../src/payments/webhooks/dispatcher.ts';
import { loadConfig, type Config } from '../../src/platform/config.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createTestMerchant, type TestMerchant } from './merchant-fixtures.ts';

/** The test configuration (as test/support/koban.ts has it), without importing the whole composition root. */
export function paymentsTestConfig(env: Record<string, string> = {}): Config {
  // Tests present many wrong codes from one till: the till code throttle is opened wide (terminal-code-guessing.test.ts sets it back).
  return loadConfig({ NODE_ENV: 'test', KOBAN_LOG_LEVEL: 'silent', KOBAN_PORT: '0', KOBAN_OPA_PORT: '0', KOBAN_TERMINAL_CODE_FAILURES_SLOWDOWN: '1000000', KOBAN_TERMINAL_CODE_FAILURES_LOCK: '1000000', ...env });
}

/** Every switch on, unless a test turns one off (operations' real switches are tested in test/payments/kill-switches.test.ts). */
export function testSwitches(): PaymentSwitches & { off: Set<string> } {
  const off = new Set<string>();
  return {
    off,
    assertOn(name) {
      if (off.has(name)) throw new KobanError('service_switched_off', { detail: `${name} is switched off` });
    },
  };
}

/** A risk engine that allows everything and remembers what it was asked (the real engine: test/payments/payment-risk.test.ts). */
export function allowingRisk(): PaymentRisk & { events: PaymentRiskEvent[] } {
  const events: PaymentRiskEvent[] = [];
  return {
    events,
    async assess(event) {
      events.push(event);
      return { id: randomUUID(), decision: 'allow' };
    },
  };
}

export interface Harness {
  readonly db: TestDatabase;
  readonly ledger: Ledger;
  readonly module: PaymentsModule;
  readonly merchant: TestMerchant;
  readonly credential: IssuedCredential;
  readonly clock: { now: Date };
  readonly errors: unknown[];
  readonly app: App | null;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly hooks?: Partial<PaymentHooks>;
  readonly events?: MerchantEventSink;
  readonly env?: Record<string, string>;
  readonly ledger?: (db: TestDatabase) => Ledger;
  readonly opaTls?: boolean;
  /** Mounts the customer routes on a main HTTP app with the test header authenticator. */
  readonly customerRoutes?: boolean;
  readonly webhookTransport?: WebhookTransport;
  readonly switches?: PaymentSwitches;
  /** A stub, or one built on the harness's database (the real engine: `createRisk`). */
  readonly risk?: PaymentRisk | ((db: TestDatabase) => Promise<PaymentRisk>);
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const ledger = options.ledger?.(db) ?? createLedger(db, { maxAmountMinor: 100_000_000_000n });
  await ensurePlatformAccounts(ledger);
  const clock = { now: new Date() };
  const errors: unknown[] = [];
  const log: Logger = { error: (details) => errors.push(details), warn: () => undefined };
  const app = options.customerRoutes === true
    ? await createHttpApp({ logLevel: 'silent', metrics: createMetrics({ defaultMetrics: false }), publicUrl: 'http://127.0.0.1' })
    : null;
  const module = await createPaymentsModule({
    app, customerAuthenticator: app === null ? null : createTestHeaderAuthenticator('test'),
    config: paymentsTestConfig(options.env), db, ledger, log, now: () => clock.now,
    switches: options.switches ?? testSwitches(), risk: typeof options.risk === 'function' ? await options.risk(db) : options.risk ?? allowingRisk(),
    ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
    ...(options.events === undefined ? {} : { events: options.events }),
    ...(options.opaTls === undefined ? {} : { opaTls: options.opaTls }),
    ...(options.webhookTransport === undefined ? {} : { webhookTransport: options.webhookTransport }),
  });
  await module.opa.app.ready();
  await app?.ready();
  const merchant = await createTestMerchant(db, ledger);
  const credential = await createApiCredential(db, module.box, { merchantId: merchant.merchantId });
  return {
    db, ledger, module, merchant, credential, clock, errors, app,
    async close() {
      await module.close();
      await app?.close();
      await ledger.drain();
      await db.close();
    },
  };
}

export interface SignedRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  /** An object is sent as JSON; a string is sent as the exact raw body. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly credential?: { apiKey: string; apiSecret: string };
  readonly nonce?: string;
  readonly epochSec?: number;
}

export function signedHeaders(request: SignedRequest, credential: { apiKey: string; apiSecret: string }): { headers: Record<string, string>; payload: string | undefined } {
  const payload = request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  const contentType = payload === undefined ? undefined : 'application/json';
  const authorization = computeOpaAuthHeader({
    apiKey: credential.apiKey, apiSecret: credential.apiSecret, method: request.method, path: request.url,
    nonce: request.nonce ?? randomBytes(8).toString('hex'), epochSec: request.epochSec ?? Math.floor(Date.now() / 1000),
    contentType, body: payload,
  });
  return { headers: { authorization, ...(contentType === undefined ? {} : { 'content-type': contentType }), ...request.headers }, payload };
}

export async function opa(harness: Harness, request: SignedRequest): Promise<LightMyRequestResponse> {
  const { headers, payload } = signedHeaders(request, request.credential ?? harness.credential);
  return harness.module.opa.app.inject({ method: request.method, url: request.url, headers, ...(payload === undefined ? {} : { payload }) });
}

export function resultCode(response: LightMyRequestResponse): string {
  return (response.json() as { resultInfo: { code: string } }).resultInfo.code;
}

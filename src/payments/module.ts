/**
 * Wires payments and the merchant API for the composition root: the sealed-secret box, merchant
 * credentials, the PostgreSQL nonce store, the OPA listener (HTTPS with the dev CA unless switched off),
 * the merchant and customer routes, and the background work (nonce expiry, in-flight repair).
 */
import { MemoryRateLimiter, PgRateLimiter } from '../merchants/opa/rate-limit.ts';
import { every } from '../platform/every.ts';
import type { BackgroundJobs } from '../platform/leases.ts';
import type { App } from '../http/app.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { createCredentialDirectory, type CredentialDirectory } from '../merchants/credentials.ts';
import { DeferringNonceStore } from '../merchants/opa/deferring-nonce-store.ts';

/** The money endpoint whose nonce is checked in memory and written with its payment batch (or by the flush below). */
const DEFERRED_NONCE_ROUTES: ReadonlySet<string> = new Set(['POST /v2/till/payments']);
/** How soon another node sees a nonce no payment batch wrote (a refused or repeated till charge). */
const NONCE_FLUSH_INTERVAL_MS = 1000;
import { createOpaServer, type OpaServer } from '../merchants/opa/server.ts';
import { createSecretBox, type SecretBox } from '../merchants/secret-box.ts';
import { resolveSecretKey } from '../merchants/secret-key.ts';
import type { Config } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { ensureDevTls, readDevTlsServerOptions } from '../platform/tls/dev-ca.ts';
import type { CustomerAuthenticator, PaymentHooks } from './context.ts';
import type { Logger, MerchantEventSink, PaymentRisk, PaymentSwitches } from './deps.ts';
import { registerOpaRoutes, registerPaymentSearchRoute, registerTillRoutes } from './merchant-routes.ts';
import { registerMerchantDirectoryRoutes } from '../merchants/opa/directory-routes.ts';
import { createPayments, type Payments } from './service.ts';
import { registerCustomerRoutes } from './customer-routes.ts';
import { httpTransport, webhookQueue, type WebhookTransport } from './webhooks/dispatcher.ts';
import { queuePass } from '../notifications/dispatcher.ts';
import { createOutbox } from './webhooks/outbox.ts';
import { registerWebhookRoutes } from './webhooks/routes.ts';
import { registerSettlementRoutes } from './settlement/routes.ts';
import { createTerminalAccess, type TerminalAccess } from './terminal/access.ts';
import { registerTerminalRoutes } from './terminal/routes.ts';
import { registerPublicReceiptRoute } from './receipt-routes.ts';
import { createTillService } from './terminal/till-service.ts';
import { httpLimitsOf } from '../http/limits.ts';

const NONCE_SWEEP_INTERVAL_MS = 60_000;
const MAINTENANCE_INTERVAL_MS = 5_000;

export interface PaymentsModuleOptions {
  readonly config: Config;
  readonly db: Database;
  readonly ledger: Ledger;
  readonly log: Logger;
  readonly hooks?: Partial<PaymentHooks>;
  /** Operations' kill switches (payments, refunds, payment_code_minting). */
  readonly switches: PaymentSwitches;
  /** The risk engine: every payment is assessed before money moves. */
  readonly risk: PaymentRisk;
  /** Identity's authenticator; without one the customer routes are not mounted. */
  readonly customerAuthenticator?: CustomerAuthenticator | null;
  /** The customer routes' host app (Koban's main HTTP app). */
  readonly app?: App | null;
  readonly now?: () => Date;
  readonly events?: MerchantEventSink;
  /** How webhooks reach merchants (tests substitute a recording transport). */
  readonly webhookTransport?: WebhookTransport;
  /** Overrides config.payments.opaTls (the SDK test turns TLS on in a test configuration). */
  readonly opaTls?: boolean;
}

export interface PaymentsModule {
  readonly payments: Payments;
  readonly box: SecretBox;
  readonly credentials: CredentialDirectory;
  readonly opa: OpaServer;
  readonly nonceStore: DeferringNonceStore;
  /** Till activation codes and terminal sessions (terminal/access.ts); the /v1/till routes use them. */
  readonly terminals: TerminalAccess;
  /** Listens on the OPA port; returns the base URL. */
  listenOpa(): Promise<string>;
  /** The webhook deliveries as a queue of the one dispatcher (notifications runs it on every node). */
  readonly webhookQueue: ReturnType<typeof webhookQueue>;
  /** One webhook dispatch round through the same dispatcher code (tests call it directly). */
  dispatchWebhooks(): Promise<number>;
  /** Leased jobs (nonce sweep, maintenance) go to `jobs` (no timers of its own: the returned list is empty). */
  startBackgroundWork(jobs: BackgroundJobs): NodeJS.Timeout[];
  close(): Promise<void>;
}

export async function createPaymentsModule(options: PaymentsModuleOptions): Promise<PaymentsModule> {
  const { config, db } = options;
  const secretKey = await resolveSecretKey(config);
  const box = createSecretBox(secretKey);
  const credentials = createCredentialDirectory(db, box);
  // Memory first; the till charge's nonce is written with its payment batch (deferring-nonce-store.ts says why that is safe).
  const nonceStore = new DeferringNonceStore(db);
  const tls = options.opaTls ?? config.payments.opaTls;
  const https = tls ? await readDevTlsServerOptions(await ensureDevTls({ dir: config.payments.tlsDir })) : null;
  const opaRateLimit = { perSecond: config.payments.opaRatePerSecond, burst: config.payments.opaRateBurst };
  const opa = createOpaServer({
    logLevel: config.logLevel, https, credentials, nonceStore, deferNonceRoutes: DEFERRED_NONCE_ROUTES, maxSkewSec: config.payments.opaMaxSkewSec, limits: httpLimitsOf(config),
    rateLimiter: config.payments.opaRateShared ? new PgRateLimiter(db, opaRateLimit) : new MemoryRateLimiter(opaRateLimit, config.payments.opaRateNodes),
  });
  const now = options.now ?? (() => new Date());
  const events = options.events ?? createOutbox({ attemptsMax: config.payments.webhookAttemptsMax, now });
  const payments = await createPayments({
    db, ledger: options.ledger, config: config.payments, tierLimits: config.wallet, secretKey, events, log: options.log, switches: options.switches, risk: options.risk, nonces: nonceStore,
    ...(options.hooks === undefined ? {} : { hooks: options.hooks }), ...(options.now === undefined ? {} : { now: options.now }),
  });
  registerTillRoutes(opa, payments);
  registerOpaRoutes(opa, payments, config.publicUrl);
  registerPaymentSearchRoute(opa, payments);
  registerSettlementRoutes(opa, db);
  registerWebhookRoutes(opa, { db, box, allowHttp: config.nodeEnv !== 'production', now });
  registerMerchantDirectoryRoutes(opa, db);
  const webhooks = webhookQueue({ db, box, transport: options.webhookTransport ?? httpTransport({ allowPrivateNetworks: config.nodeEnv !== 'production' }), timeoutMs: config.payments.webhookTimeoutMs, now, log: options.log });
  const dispatchWebhooks = queuePass(db, webhooks);
  if (options.app && options.customerAuthenticator) registerCustomerRoutes(options.app, payments, options.customerAuthenticator);
  const terminals = createTerminalAccess(db, secretKey, now);
  if (options.app) registerTerminalRoutes(options.app, { access: terminals, till: createTillService(db, payments), payments, publicUrl: config.publicUrl });
  if (options.app) registerPublicReceiptRoute(options.app, payments);
  return {
    payments, box, credentials, opa, nonceStore, terminals, webhookQueue: webhooks,
    async listenOpa() {
      await opa.app.listen({ host: config.payments.opaHost, port: config.payments.opaPort });
      const address = opa.app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.payments.opaPort;
      return `${https === null ? 'http' : 'https'}://${config.payments.opaHost === '0.0.0.0' ? '127.0.0.1' : config.payments.opaHost}:${port}`;
    },
    dispatchWebhooks,
    startBackgroundWork(jobs) {
      jobs.run('payments.nonce-sweep', NONCE_SWEEP_INTERVAL_MS, () => nonceStore.sweep());
      jobs.run('payments.maintenance', MAINTENANCE_INTERVAL_MS, () => payments.runMaintenance());
      return [
        // On every node: its own memory's nonces that no payment batch wrote.
        every(NONCE_FLUSH_INTERVAL_MS, () => nonceStore.flush(), (error) => options.log.error({ err: error }, 'OPA nonce flush failed')),
      ];
    },
    async close() {
      await opa.app.close();
      await payments.deps.codePayments.drain();
      await payments.drainCodeMints();
      await nonceStore.flush().catch((error: unknown) => options.log.warn({ err: error }, 'OPA nonces not written at close (the node forgets them; see deferring-nonce-store.ts)'));
      // A notice relay round started by the last commits finishes before the pool closes (what it leaves waits in the outbox).
      await payments.deps.notices.drain();
    },
  };
}


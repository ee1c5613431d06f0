/**
 * The composition root: configuration and a database in, a running Koban out. `main.ts` uses it for
 * `npm start`, the tests use it to boot real instances (several at once when they test nodes).
 */
import type { Config } from './platform/config.ts';
import { systemClock, type Clock } from './platform/clock.ts';
import type { Database } from './platform/db/database.ts';
import { createMetrics, registerJobMetrics, type Metrics } from './platform/metrics.ts';
import { createHttpApp, type App } from './http/app.ts';
import { httpLimitsOf } from './http/limits.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createDrain, type Drain } from './http/drain.ts';
import { createLedger, type Ledger } from './ledger/ledger.ts';
import { registerLedgerRoutes } from './ledger/routes.ts';
import { ensurePlatformAccounts } from './ledger/platform-accounts.ts';
import { createPaymentsModule, type PaymentsModule } from './payments/module.ts';
import type { CustomerAuthenticator, PaymentHooks } from './payments/context.ts';
import { createNotifications, type Notifications } from './notifications/notifications.ts';
import { registerDevOutboxRoutes } from './notifications/dev-outbox-routes.ts';
import { registerDrillEstablishRoutes } from './wiring-drill.ts';
import { createIdentity, type Identity } from './identity/identity.ts';
import { registerIdentityRoutes } from './identity/http/routes.ts';
import { createOperations, type Operations } from './operations/operations.ts';
import { createBackgroundJobs, type BackgroundJobs } from './platform/leases.ts';
import { SIGN_IN_HEALTH_INTERVAL_MS } from './identity/sign-in-health.ts';
import { registerOperationsRoutes } from './operations/routes.ts';
import { registerTillActivationOpsRoute } from './payments/terminal/issue-routes.ts';
import { createWallet, type Wallet } from './wallet/wallet.ts';
import { wireCashTopUps, type CashTopUps } from './wiring-cash.ts';
import type { OperationsAdapters } from './operations/adapters.ts';
import { registerCaseRoutes } from './operations/cases/routes.ts';
import { registerCompensationRoutes } from './operations/compensation/routes.ts';
import { createRisk, type Risk } from './risk/risk.ts';
import { alertSubjects } from './risk/rules/merchant-convergence.ts';
import { registerRiskRoutes } from './risk/routes.ts';
import { registerTerminalThrottleOpsRoutes } from './payments/terminal/throttle-routes.ts';
import { customerAuthenticator, customerWallets, identityControl, paymentHooks } from './wiring.ts';
import { createLiveFeed } from './notifications/live-feed.ts';
import { registerFeedStreamRoutes } from './notifications/stream-routes.ts';
import { registerCustomerCaseRoutes } from './operations/cases/customer-routes.ts';
import { registerWalletHistoryRoutes } from './wallet/history-routes.ts';
import { customerFeedAndCases, walletHistoryDeps } from './wiring-wallet-home.ts';
import { portalDeps } from './wiring-portal.ts';
import { registerPortalRoutes } from './portal/routes.ts';
import { registerMerchantOpsRoutes } from './portal/ops-routes.ts';
import type { PortalDeps } from './portal/service.ts';
import { createKyc, type Kyc } from './wallet/kyc/kyc.ts';
import { registerKycRoutes } from './wallet/kyc/routes.ts';
import { registerKycReviewRoutes } from './wiring-kyc.ts';
import { registerRegulatoryRoutes } from './wiring-regulatory.ts';
import { registerCampaignRoutes } from './wiring-promo.ts';
import { registerAbolitionOpsRoutes } from './wiring-abolition.ts';
import { ABOLITION_NOTICE_INTERVAL_MS, ABOLITION_PAYOUT_INTERVAL_MS, createAbolition, type Abolition } from './wallet/abolition/abolition.ts';
import { registerAbolitionRoutes } from './wallet/abolition/routes.ts';
import { HttpBankRail } from './wallet/funding/http-bank.ts';
import { createPromotions, POINTS_EXPIRY_INTERVAL_MS, PROMO_RELAY_INTERVAL_MS, type Promotions } from './wallet/promo/promotions.ts';
import { registerPointsRoutes } from './wallet/promo/routes.ts';

export interface Koban {
  readonly config: Config;
  readonly db: Database;
  readonly app: App;
  readonly ledger: Ledger;
  readonly metrics: Metrics;
  /** Identity verification (eKYC, issue 19). */
  readonly kyc: Kyc;
  /** Cash top-up at the register and auto top-up (issue 19, src/wiring-cash.ts). */
  readonly cash: CashTopUps;
  readonly promotions: Promotions;
  readonly abolition: Abolition;
  readonly notifications: Notifications;
  readonly identity: Identity;
  /** Audit log, kill switches, operators, cases, compensation (src/operations). */
  readonly operations: Operations;
  /** Scores sign-ins, recoveries, links, funding sources, top-ups, code mints and payments (src/risk). */
  readonly risk: Risk;
  /**
   * Starts background work (hold expiry, sealer, reconcilers, purges): each job on the one node holding its
   * lease (src/platform/leases.ts). Not started by tests that drive time themselves.
   */
  startBackgroundWork(): void;
  /** The leased jobs, once started: which this node holds, how often each ran here. */
  readonly jobs: BackgroundJobs | null;
  /** Stops background work and releases its leases (part of close). */
  stopBackgroundWork(): Promise<void>;
  /** Drain: /readyz fails and answers close their connections from now on (src/http/drain.ts); close() stops. */
  readonly drain: Pick<Drain, 'begin' | 'draining'>;
  close(): Promise<void>;
  /** Payments and the merchant API (src/payments); its OPA listener is started by main.ts. */
  readonly payments: PaymentsModule;
  /** Funding sources, top-ups, provider webhooks and their reconciler (src/wallet). */
  readonly wallet: Wallet;
  /** The merchant portal's dependencies (src/portal): merchants' life cycle, staff, stores and tills. */
  readonly portal: PortalDeps;
}

export interface KobanOptions {
  /** Payments' customer authenticator: identity's sessions unless given (null: no customer payment routes). */
  readonly customerAuthenticator?: CustomerAuthenticator | null;
  /** Overrides of the payment hooks that src/wiring.ts builds from identity, risk and notifications. */
  readonly paymentHooks?: Partial<PaymentHooks>;
  /** Overrides of operations' adapters (src/wiring.ts builds the defaults). */
  readonly operations?: OperationsAdapters;
  /** The one clock (src/platform/clock.ts) risk and payments decide by; the system clock unless a test drives time. */
  readonly clock?: Clock;
}

export async function createKoban(config: Config, db: Database, options: KobanOptions = {}): Promise<Koban> {
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics({ nodeId: config.nodeId });
  const ledger = createLedger(db, { maxAmountMinor: config.ledgerMaxAmountMinor, metrics });
  // Clearing, fees, compensation…: every module moves money through them, so they exist before any module starts.
  await ensurePlatformAccounts(ledger);
  const app = await createHttpApp({ logLevel: config.logLevel, metrics, publicUrl: config.publicUrl, limits: httpLimitsOf(config) });
  const drain = createDrain();
  drain.attach(app);
  registerHealthRoutes(app, db, config.nodeId, () => drain.draining);
  if (config.ledgerApiToken !== null) registerLedgerRoutes(app, ledger, config.ledgerApiToken);
  const notifications = createNotifications(config.notifications, db);
  if (config.nodeEnv !== 'production') registerDevOutboxRoutes(app, db);
  // The drill's established customers (issue 13): outside production only, like the outbox.
  registerDrillEstablishRoutes(app, db, config.nodeEnv, clock);
  const identity = createIdentity(config, db);
  await registerIdentityRoutes(app, identity, config.publicUrl);
  const operations = await createOperations({ config: config.operations, db, ledger, adapters: options.operations ?? { identity: identityControl(identity, db), wallets: customerWallets(db) }, clock,
    webauthn: { rpId: config.identity.webauthnRpId, rpName: config.identity.webauthnRpName, origins: config.identity.webauthnOrigins }, onError: (error, what) => app.log.error({ err: error }, `${what} failed`) });
  const risk = await createRisk(db, operations.changes, async (event, decision) => {
    // The customer's case, and the merchant's when money converges on it (issue 13).
    for (const subject of alertSubjects(event, decision)) await operations.cases.openFromAlert(subject, decision);
  }, clock);
  // Identity exists before risk (operations needs identity, risk needs operations); it allows every
  // sign-in until this line, which runs before the app is ready to serve (src/identity/risk-port.ts).
  identity.useRisk(risk);
  identity.useSwitches(operations.switches);
  // Identity verification (eKYC, issue 19): the provider's word opens the funds-transfer balance; operators review.
  const kyc = createKyc({ db, ledger, config: config.wallet, now: clock });
  registerKycRoutes(app, kyc, (request) => identity.guard(request));
  // Points and cashback campaigns (issue 19): operators define and fund them, a relay grants after each payment's commit.
  const promotions = createPromotions(db, ledger, clock);
  // Abolition of the prepaid instrument (Art. 20): four eyes to start, customers claim their balance, payouts in batches.
  const abolition = createAbolition(db, ledger, config.wallet.bankUrl === null || config.wallet.bankApiKey === null ? null
    : new HttpBankRail({ baseUrl: config.wallet.bankUrl, apiKey: config.wallet.bankApiKey, timeoutMs: config.wallet.providerTimeoutMs }), identity, clock);
  registerAbolitionRoutes(app, abolition, (request) => identity.guard(request));
  registerPointsRoutes(app, promotions, (request) => identity.guard(request));
  registerOperationsRoutes(app, operations, [(scope) => registerKycReviewRoutes(scope, kyc, operations.audit), (scope) => registerRegulatoryRoutes(scope, db, clock),
    (scope) => registerCampaignRoutes(scope, db, promotions, operations, config.wallet.campaignFourEyesBudgetMinor), (scope) => registerAbolitionOpsRoutes(scope, db, abolition, operations),
    (scope) => registerRiskRoutes(scope, risk), (scope) => registerCaseRoutes(scope, operations), (scope) => registerCompensationRoutes(scope, operations),
    (scope) => registerTillActivationOpsRoute(scope, () => payments.terminals, operations.audit), (scope) => registerMerchantOpsRoutes(scope, portal),
    (scope) => registerTerminalThrottleOpsRoutes(scope, () => payments.payments.deps)]);
  const payments = await createPaymentsModule({
    config, db, ledger, log: app.log, app, now: clock,
    // Identity's sessions by default; a test may pass its own authenticator, or null for none.
    customerAuthenticator: options.customerAuthenticator === undefined ? customerAuthenticator(identity, db, ledger) : options.customerAuthenticator,
    hooks: { ...paymentHooks(identity, risk, db), ...options.paymentHooks },
    switches: operations.switches,
    risk,
  });
  // Merchant webhooks go out through the one dispatcher, with e-mail and SMS (notifications/dispatcher.ts).
  notifications.addQueue(payments.webhookQueue, config.payments.webhookDispatchIntervalMs);
  // The merchant portal's API (/v1/merchant) and its console routes (registered above, served once ready).
  const portal = portalDeps(config, db, ledger, payments, operations, clock);
  registerPortalRoutes(app, portal);
  drain.attach(payments.opa.app);
  const wallet = await createWallet({ config, db, ledger, identity, log: app.log, app, risk, switches: operations.switches, now: clock });
  const cash = await wireCashTopUps({ config, db, ledger, app, wallet, payments, now: clock });
  // The wallet app's home: balance and history, the live feed, "this wasn't me" and freeze.
  const liveFeed = createLiveFeed(db, { pollMs: config.notifications.streamPollMs, streamsPerCustomerMax: config.notifications.streamsPerCustomerMax, metrics });
  liveFeed.start((error) => app.log.error({ err: error }, 'live feed failed'));
  const feedAndCases = customerFeedAndCases(identity, db, operations);
  registerFeedStreamRoutes(app, { feed: liveFeed, heartbeatMs: config.notifications.streamHeartbeatMs, guard: feedAndCases.guard });
  registerCustomerCaseRoutes(app, feedAndCases);
  registerWalletHistoryRoutes(app, walletHistoryDeps(identity, db, ledger));
  const timers: NodeJS.Timeout[] = [];
  let jobs: BackgroundJobs | null = null;
  let closing = false;
  const stopBackgroundWork = async (): Promise<void> => {
    for (const timer of timers) clearInterval(timer);
    await jobs?.stop();
  };

  return {
    config, db, app, ledger, metrics, payments, notifications, identity, operations, risk, wallet, portal, kyc, cash, promotions, abolition,
    get jobs() { return jobs; },
    startBackgroundWork() {
      if (jobs !== null || closing) return;
      const started = createBackgroundJobs(db, {
        holder: config.nodeId, ttlMs: config.leaseTtlMs,
        onError: (error, job) => app.log.error({ err: error }, `${job} failed`),
        onChange: (job, change, token) => app.log.info({ job, token: token.toString() }, `lease ${change}`),
      });
      jobs = started;
      registerJobMetrics(metrics, started);
      started.run('ledger.hold-expiry', config.pendingSweepIntervalMs, () => ledger.expireDueHolds());
      // The notification dispatcher claims its messages itself and runs on every node.
      timers.push(...notifications.startPolling((error) => app.log.error({ err: error }, 'notification dispatch failed')));
      started.run('identity.purge', IDENTITY_PURGE_INTERVAL_MS, () => identity.purgeExpired());
      started.run('identity.sign-in-health', SIGN_IN_HEALTH_INTERVAL_MS, async () => { await identity.checkSignInHealth(clock()); });
      operations.startBackgroundWork(started);
      started.run('risk.counter-prune', 60_000, () => risk.pruneCounters());
      timers.push(...payments.startBackgroundWork(started));
      wallet.startBackgroundWork(started);
      started.run('wallet.promo-relay', PROMO_RELAY_INTERVAL_MS, () => promotions.relay());
      started.run('wallet.points-expiry', POINTS_EXPIRY_INTERVAL_MS, () => promotions.expire());
      started.run('wallet.abolition-payouts', ABOLITION_PAYOUT_INTERVAL_MS, () => abolition.payoutBatch());
      started.run('wallet.abolition-notices', ABOLITION_NOTICE_INTERVAL_MS, () => abolition.notify());
    },
    stopBackgroundWork,
    drain,
    async close() {
      if (closing) return;
      closing = true;
      // In-flight requests finish, then the jobs stop and release their leases for the other nodes.
      await app.close();
      await stopBackgroundWork();
      await liveFeed.close();
      await payments.close();
      await ledger.drain();
      await notifications.close();
      await operations.close();
    },
  };
}

/** Expired sign-ups, WebAuthn challenges and social transactions are deleted once a minute. */
const IDENTITY_PURGE_INTERVAL_MS = 60_000;

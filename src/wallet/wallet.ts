/**
 * The wallet module's public face: funding sources, top-ups, provider webhooks and the reconciler. Built by
 * the composition root from configuration (HTTP adapters to the acquirer and bank when their URLs are set);
 * tests pass the adapters or URLs of sandboxes they started themselves.
 */
import type { App } from '../http/app.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { RequestOrigin } from '../platform/audit/security-log.ts';
import type { Config } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import type { BackgroundJobs } from '../platform/leases.ts';
import type { WalletDeps, WalletLogger, WalletSwitches } from './deps.ts';
import type { CardAcquirer, CardDetails } from './funding/acquirer.ts';
import type { BankAccountDetails, BankRail } from './funding/bank.ts';
import { HttpBankRail } from './funding/http-bank.ts';
import { HttpCardAcquirer } from './funding/http-acquirer.ts';
import * as sources from './funding-sources.ts';
import type { WalletIdentity, WalletSession } from './identity-port.ts';
import { createCreditGate } from './credit-gate.ts';
import { receiveProviderWebhook, type CallbackOrigin, type Provider, type WebhookOutcome } from './provider-webhooks.ts';
import { reconcileTopUps, type ReconcileOptions } from './reconciler.ts';
import type { WalletRisk } from './risk-port.ts';
import { registerWalletRoutes } from './routes.ts';
import { runAutoTopUps } from './auto-top-up.ts';
import { registerAutoTopUpRoutes } from './auto-top-up-routes.ts';
import { advanceTopUp } from './settle.ts';
import { listTopUps, ownTopUp, replayed, requestHash, startTopUp, type TopUpRequest, type TopUpRow } from './top-ups.ts';
import { onceAtATime } from './top-up-claims.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { createTransfers, type Transfers } from './transfers/transfers.ts';
import { registerTransferRoutes } from './transfers/routes.ts';

export interface Wallet {
  readonly deps: WalletDeps;
  readonly identity: WalletIdentity;
  /** Sending, requesting, splitting and withdrawing money (issue 19, transfers/). */
  readonly transfers: Transfers;
  addCard(session: WalletSession, card: CardDetails, grant: string | undefined, origin?: RequestOrigin | null): Promise<sources.FundingSourceRow>;
  addBankAccount(session: WalletSession, account: BankAccountDetails, grant: string | undefined, origin?: RequestOrigin | null): Promise<sources.FundingSourceRow>;
  confirmBankAccount(customerId: string, fundingSourceId: string, code: string): Promise<sources.FundingSourceRow>;
  listFundingSources(customerId: string): Promise<sources.FundingSourceRow[]>;
  removeFundingSource(customerId: string, fundingSourceId: string): Promise<void>;
  /** Starts (or replays) a top-up and, for a new one, takes it as far as the provider answers at once. */
  startTopUp(session: WalletSession, request: TopUpRequest, origin: RequestOrigin | null): Promise<{ topUp: TopUpRow; replayed: boolean }>;
  getTopUp(customerId: string, topUpId: string): Promise<TopUpRow>;
  listTopUps(customerId: string): Promise<TopUpRow[]>;
  advanceTopUp(topUpId: string): Promise<TopUpRow | null>;
  /** `origin` is where the callback came from: a refused one is a security event and an operator alert. */
  receiveWebhook(provider: Provider, signatureHeader: string | undefined, rawBody: Buffer, origin?: CallbackOrigin): Promise<WebhookOutcome>;
  /** One reconciler round (the background loop calls it; tests call it directly). */
  reconcile(options?: ReconcileOptions): Promise<number>;
  /** One auto top-up scan (issue 19; the background loop calls it; tests call it directly). */
  runAutoTopUps(): Promise<number>;
  /** The top-up reconciler, on the one node holding its lease. */
  startBackgroundWork(jobs: BackgroundJobs): void;
}

export interface WalletOptions {
  readonly config: Config;
  readonly db: Database;
  readonly ledger: Ledger;
  readonly identity: WalletIdentity;
  readonly log: WalletLogger;
  /** Mount the routes on this app (Koban's main HTTP app). */
  readonly app?: App | null;
  readonly acquirer?: CardAcquirer | null;
  readonly bank?: BankRail | null;
  readonly risk?: WalletRisk | null;
  readonly switches?: WalletSwitches | null;
  /** The one clock (claim deadlines, limit windows); the system clock unless a test drives time. */
  readonly now?: Clock;
}

function acquirerFromConfig(config: Config): CardAcquirer | null {
  const { acquirerUrl, acquirerApiKey, providerTimeoutMs } = config.wallet;
  return acquirerUrl === null || acquirerApiKey === null ? null : new HttpCardAcquirer({ baseUrl: acquirerUrl, apiKey: acquirerApiKey, timeoutMs: providerTimeoutMs });
}

function bankFromConfig(config: Config): BankRail | null {
  const { bankUrl, bankApiKey, providerTimeoutMs } = config.wallet;
  return bankUrl === null || bankApiKey === null ? null : new HttpBankRail({ baseUrl: bankUrl, apiKey: bankApiKey, timeoutMs: providerTimeoutMs });
}

export async function createWallet(options: WalletOptions): Promise<Wallet> {
  const deps: WalletDeps = {
    db: options.db, ledger: options.ledger, config: options.config.wallet, publicUrl: options.config.publicUrl, log: options.log,
    acquirer: options.acquirer === undefined ? acquirerFromConfig(options.config) : options.acquirer,
    bank: options.bank === undefined ? bankFromConfig(options.config) : options.bank,
    risk: options.risk ?? null,
    switches: options.switches ?? null,
    creditGate: createCreditGate(),
    payoutListener: { advance: null },
  };
  const identity = options.identity;
  const transfers = createTransfers({ wallet: deps, identity, clock: options.now ?? systemClock });
  const wallet: Wallet = {
    deps, identity, transfers,
    addCard: (session, card, grant, origin = null) => sources.addCard(deps, identity, session, card, grant, origin),
    addBankAccount: (session, account, grant, origin = null) => sources.addBankAccount(deps, identity, session, account, grant, origin),
    confirmBankAccount: (customerId, id, code) => sources.confirmBankAccount(deps, customerId, id, code),
    listFundingSources: (customerId) => sources.listFundingSources(deps.db.pool, customerId),
    removeFundingSource: (customerId, id) => sources.removeFundingSource(deps, customerId, id),
    async startTopUp(session, request, origin) {
      // Copies of one request (same Idempotency-Key) at once: one runs, the others get its outcome (top-up-claims.ts).
      return onceAtATime(deps.db, session.customerId, request.idempotencyKey, {
        run: async () => {
          const started = await startTopUp(deps, identity, session, request, origin);
          if (started.replayed) return started;
          return { topUp: (await advanceTopUp(deps, started.topUp.id)) ?? started.topUp, replayed: false };
        },
        outcome: async () => {
          const earlier = await replayed(deps.db.pool, session.customerId, request, requestHash(request));
          return earlier === null ? null : { topUp: earlier, replayed: true };
        },
      });
    },
    getTopUp: (customerId, id) => ownTopUp(deps.db.pool, customerId, id),
    listTopUps: (customerId) => listTopUps(deps.db.pool, customerId),
    advanceTopUp: (id) => advanceTopUp(deps, id),
    receiveWebhook: (provider, header, rawBody, origin) => receiveProviderWebhook(deps, provider, header, rawBody, origin),
    reconcile: (reconcileOptions) => reconcileTopUps(deps, reconcileOptions),
    runAutoTopUps: () => runAutoTopUps(deps),
    startBackgroundWork(jobs) {
      jobs.run('wallet.top-up-reconcile', options.config.wallet.reconcileIntervalMs, () => reconcileTopUps(deps));
      transfers.startBackgroundWork(jobs);
      jobs.run('wallet.auto-top-up', options.config.wallet.autoTopUp.intervalMs, async () => { await runAutoTopUps(deps); });
    },
  };
  if (options.app) {
    registerWalletRoutes(options.app, wallet);
    registerTransferRoutes(options.app, transfers, identity, options.ledger.maxAmountMinor);
    registerAutoTopUpRoutes(options.app, wallet);
  }
  return wallet;
}

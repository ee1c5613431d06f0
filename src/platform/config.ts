/**
 * Configuration comes only from environment variables, read and validated once at start. Every
 * problem is collected and reported together, so an operator fixes a bad deployment in one pass.
 * Secrets are marked so `describeConfig` never prints them.
 */
import { hostname } from 'node:os';
import path from 'node:path';

export interface Config {
  readonly nodeEnv: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  /** This node's name among several behind a load balancer (KOBAN_NODE_ID, else hostname:pid), in /healthz and metrics. */
  readonly nodeId: string;
  /** Processes on this machine (KOBAN_WORKERS, `koban start --workers N`): src/workers.ts; 1 runs Koban in this process. */
  readonly workers: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** PostgreSQL server; when absent Koban runs on the embedded PGlite database in `dataDir`. */
  readonly databaseUrl: string | null;
  readonly databasePoolSize: number;
  readonly dataDir: string;
  /** Demo wallets, merchant (with its public API credential) and customers: development only by default, refused in production. */
  readonly demoData: boolean;
  /** `npm start` runs the sandbox acquirer and bank in-process (src/demo/sandboxes.ts); refused in production. */
  readonly devSandboxes: boolean;
  /** `npm start` runs the development identity provider in-process (src/demo/dev-idp.ts); refused in production. */
  readonly devIdentityProvider: boolean;
  /** Largest amount a single transfer may carry, in minor units. */
  readonly ledgerMaxAmountMinor: bigint;
  /** Bearer token for the internal ledger API; the API is not mounted without one. */
  readonly ledgerApiToken: string | null;
  readonly pendingSweepIntervalMs: number;
  /** Background jobs run on the one node holding their lease (src/platform/leases.ts); a dead holder is replaced within about 4/3 of this. */
  readonly leaseTtlMs: number;
  /** Identity: see src/identity/README.md. */
  readonly identity: IdentityConfig;
  /** Notifications: SMTP and SMS adapters; without them messages go to the development outbox. */
  readonly notifications: NotificationsConfig;
  /** Payments and the merchant API: see src/payments/README.md. */
  readonly payments: PaymentsConfig;
  /** Risk and operations: see src/operations/README.md. */
  readonly operations: OperationsConfig;
  /** Wallet funding and top-ups: see src/wallet/README.md. */
  readonly wallet: WalletConfig;
  /** Bounds on waiting: for the database, for slow clients, for shutdown (issue 12). */
  readonly limits: RuntimeLimits;
}

export interface RuntimeLimits {
  readonly databaseAcquireTimeoutMs: number;
  readonly databaseStatementTimeoutMs: number;
  readonly databaseIdleInTransactionTimeoutMs: number;
  /** How long start-up waits for an unreachable PostgreSQL, retrying with backoff. */
  readonly databaseStartupWaitMs: number;
  /** A request's whole body (and headers) must arrive within this; headers alone within the next. */
  readonly httpRequestTimeoutMs: number;
  readonly httpHeadersTimeoutMs: number;
  /** Open connections per listener; the excess is answered 503 and closed. */
  readonly httpConnectionsMax: number;
  /** SIGINT/SIGTERM: in-flight requests get this long, then connections are closed and Koban exits. */
  readonly shutdownGraceMs: number;
  /** SIGTERM: /readyz fails this long before the listeners close, so a load balancer stops sending first. */
  readonly drainDelayMs: number;
}

export interface WalletConfig {
  /** The card acquirer (the sandbox in development); no card funding without it. */
  readonly acquirerUrl: string | null;
  readonly acquirerApiKey: string | null;
  readonly acquirerWebhookSecret: string | null;
  /** The bank for direct debits (the same KOBAN_BANK_URL payouts use); no bank funding without it. */
  readonly bankUrl: string | null;
  readonly bankApiKey: string | null;
  readonly bankWebhookSecret: string | null;
  /** The eKYC provider (the sandbox in development, issue 19); no identity verification without it. */
  readonly ekycUrl: string | null;
  readonly ekycApiKey: string | null;
  readonly ekycWebhookSecret: string | null;
  readonly providerTimeoutMs: number;
  readonly webhookToleranceSec: number;
  readonly limits: TopUpLimits;
  /** The verified tier's top-up caps (issue 19); the other caps are the same for both tiers. */
  readonly verifiedLimits: Pick<TopUpLimits, 'perTopUpMaxMinor' | 'dailyMaxMinor' | 'monthlyMaxMinor'>;
  readonly cardsPerCustomerMax: number;
  readonly bankAccountsPerCustomerMax: number;
  /** Koban's own counters, on top of the acquirer's: wrong CVVs per customer and failed 3-D Secure per card, per 24 h. */
  readonly cvvFailuresMax: number;
  readonly threeDSecureFailuresMax: number;
  readonly reconcileIntervalMs: number;
  /** A top-up not final after this many status queries is settled by voiding (card) or marked failed. */
  readonly reconcileAttemptsMax: number;
  readonly reconcileDelayMs: number;
  /** Sending, requesting and withdrawing money (issue 19, src/wallet/transfers). */
  readonly transfers: TransfersConfig;
  /** Cash top-up at the register (issue 19, src/wallet/cash/). */
  readonly cash: CashTopUpConfig;
  /** Auto top-up (issue 19, src/wallet/auto-top-up.ts): no step-up is possible, so it is capped. */
  readonly autoTopUp: { readonly perDayMax: number; readonly amountMaxMinor: bigint; readonly intervalMs: number };
  /** A campaign budget at or above this waits for a second operator's approval (src/wiring-promo.ts). */
  readonly campaignFourEyesBudgetMinor: bigint;
}

/** Daily (24 h) and monthly (30 days) limits of one tier on money leaving by payment, send and withdrawal. */
export interface TierMoneyLimits {
  readonly paymentDailyMaxMinor: bigint;
  readonly paymentMonthlyMaxMinor: bigint;
  readonly sendDailyMaxMinor: bigint;
  readonly sendMonthlyMaxMinor: bigint;
  readonly withdrawalDailyMaxMinor: bigint;
  readonly withdrawalMonthlyMaxMinor: bigint;
}

export interface TransfersConfig {
  /** An unaccepted send goes back to the sender this long after it was sent. */
  readonly claimWindowMs: number;
  /** How often the leased job returns due sends, reminds split participants and re-reads open withdrawals. */
  readonly jobIntervalMs: number;
  readonly withdrawalFeeMinor: bigint;
  readonly basic: TierMoneyLimits;
  readonly verified: TierMoneyLimits;
}

export interface CashTopUpConfig {
  readonly minMinor: bigint;
  /** A code is used once, so this is also the most one top-up can be. */
  readonly perCodeMaxMinor: bigint;
  readonly customerDailyMaxMinor: bigint;
  readonly storeDailyMaxMinor: bigint;
  readonly voidWindowMinutes: number;
}

/** Top-up limits in minor units. Cards without 3-D Secure get the lower `nonThreeDs*` caps (7pay guideline 7). */
export interface TopUpLimits {
  readonly perTopUpMaxMinor: bigint;
  readonly dailyMaxMinor: bigint;
  readonly monthlyMaxMinor: bigint;
  readonly walletBalanceMaxMinor: bigint;
  readonly nonThreeDsPerTopUpMaxMinor: bigint;
  readonly nonThreeDsDailyMaxMinor: bigint;
  readonly nonThreeDsMonthlyMaxMinor: bigint;
}

export interface OperationsConfig {
  /** Key for operators' TOTP seeds at rest (KOBAN_OPERATOR_SECRET); development and tests use a fixed one. */
  readonly operatorSecret: string;
  readonly operatorIdleTimeoutMs: number;
  readonly operatorAbsoluteTimeoutMs: number;
  /** How often each process re-reads switches and risk rules when no notification arrives (≤ 1 s). */
  readonly switchPollIntervalMs: number;
  readonly auditSealIntervalMs: number;
  /** Seed the demo operators (with KOBAN_DEMO_DATA; development only by default, refused in production). */
  readonly demoOperator: boolean;
  /** A new operator may sign in with password + TOTP only to enrol a first passkey, within this long of being created. */
  readonly operatorPasskeyEnrolmentWindowMs: number;
}

/** Only for development and tests: production refuses it (see loadConfig). */
export const DEVELOPMENT_OPERATOR_SECRET = 'koban-development-operator-secret-do-not-use-in-production';

export interface PaymentsConfig {
  /** Key-encryption key for secrets at rest (KOBAN_SECRET_KEY); development keeps a generated one in .koban/. */
  readonly secretKey: string | null;
  /** The OPA-compatible merchant API has its own listener: HTTPS with the dev CA unless opaTls is off. */
  readonly opaHost: string;
  readonly opaPort: number;
  readonly opaTls: boolean;
  readonly tlsDir: string;
  readonly opaMaxSkewSec: number;
  /** Default per-API-key rate limit on the merchant API (a key's own limit overrides it): steady rate and burst. */
  readonly opaRatePerSecond: number;
  readonly opaRateBurst: number;
  /** Koban processes a merchant's requests are spread over: each enforces its share of a key's limit in memory (rate-limit.ts). */
  readonly opaRateNodes: number;
  /** One bucket per key in PostgreSQL for every process instead (exact across processes, a statement per request). */
  readonly opaRateShared: boolean;
  readonly paymentCodeTtlSec: number;
  readonly dynamicQrTtlSec: number;
  /** An order QR's redirectUrl must be https (production); the sandbox (development, test) also takes http. */
  readonly orderRedirectHttpsOnly: boolean;
  /** Merchant fee in basis points of the payment amount (198 = 1.98%), rounded down. */
  readonly merchantFeeBps: number;
  /** An application expecting more than this monthly volume (JPY) needs two operators' approval (src/merchants/onboarding.ts). */
  readonly merchantFourEyesAboveMinor: bigint;
  /** Largest single payment (¥1M: the Type 2 funds-transfer cap, and PayPay's per-payment cap). */
  readonly paymentMaxAmountMinor: bigint;
  /** QR payments above this amount need a PIN or passkey confirmation. */
  readonly strongConfirmationAboveMinor: bigint;
  /** A till charging a customer-presented code above this waits for the customer to confirm in the wallet (issue 14). */
  readonly tillConfirmationAboveMinor: bigint;
  /** How long a payment waits for its customer's confirmation before it fails (nothing moved). */
  readonly customerConfirmationTtlSec: number;
  /** A payment can be cancelled until this many minutes past the next midnight, JST (PayPay: 00:14:59). */
  readonly cancelCutoffMinutes: number;
  readonly webhookAttemptsMax: number;
  readonly webhookTimeoutMs: number;
  readonly webhookDispatchIntervalMs: number;
  readonly settlementDir: string;
  /** The bank that pays merchants out (the sandbox bank in development); no payouts without it. */
  readonly payoutBankUrl: string | null;
  readonly payoutBankApiKey: string | null;
  /** Per-terminal throttle on unknown/expired/used customer codes (issue 14): slow down from, lock at, within the window. */
  readonly terminalCodeFailures: { readonly slowDownFrom: number; readonly lockAt: number; readonly windowMs: number; readonly slowDownBaseMs: number };
}

export interface IdentityConfig {
  /** Server secret for HMACs of one-time codes, CSRF tokens and the TOTP seed key. Never the default in production. */
  readonly secret: string;
  readonly sessionIdleTimeoutMs: number;
  readonly sessionAbsoluteTimeoutMs: number;
  /**
   * Issue 13, sessions bound to a device key (identity/sessions/device-proof.ts): `required` refuses a session
   * whose sign-in carried no proof (default in production); `optional` lets such a session work unbound
   * (development and tests). A bound session is held to its key in both.
   */
  readonly sessionDeviceBinding: 'required' | 'optional';
  /** A read (GET) in a bound session needs a fresh proof once the last one is older than this. */
  readonly sessionProofRefreshMs: number;
  /** After a recovery, high-risk actions (top-ups, new funding sources, new social links) wait this long. */
  readonly recoveryCooldownMs: number;
  /** argon2 hashes computed at once, and requests allowed to wait for one; beyond that 503. */
  readonly passwordHashConcurrency: number;
  readonly passwordHashQueueMax: number;
  /** Failed logins per window before a source is refused (per IP, per /24 or /64 network). */
  readonly loginIpFailuresMax: number;
  readonly loginNetworkFailuresMax: number;
  /** Failed logins per window across all of Koban above which every login needs a second factor. */
  readonly loginGlobalFailuresAnomaly: number;
  readonly loginWindowMs: number;
  /** Second-factor slow-down: the first wait after FACTOR_SLOW_FROM wrong codes, doubled at each further one (0 turns waiting off). */
  readonly factorSlowdownBaseMs: number;
  /** SMS budgets (OTP-04): codes per destination, per requesting /24 or /64 network, and across Koban, per hour. */
  readonly smsPerDestinationPerHour: number;
  readonly smsPerNetworkPerHour: number;
  readonly smsGlobalPerHour: number;
  readonly webauthnRpId: string;
  readonly webauthnRpName: string;
  readonly webauthnOrigins: readonly string[];
  readonly socialProviders: readonly SocialProviderSetting[];
  /** Platform-wide sign-in health and its alert (issue 13, src/identity/sign-in-health.ts). */
  readonly signInHealth: SignInHealthSettings;
}

export interface SignInHealthSettings {
  /** The sliding window measured, and the baseline before it it is compared with. */
  readonly windowMs: number;
  readonly baselineMs: number;
  /** A right password whose second factor is not completed within this is abandoned. */
  readonly abandonAfterMs: number;
  /** The failed-sign-in rate alert: at least this many password attempts in the window, failing at this percentage or more. */
  readonly minAttempts: number;
  readonly failedPercent: number;
  /** The abandoned-second-factor alert: at least this many mature right passwords in the window, abandoned at this percentage or more. */
  readonly minPending: number;
  readonly abandonedPercent: number;
  /** The surge alert: failures in the window at least this many times the baseline's failures per window (and minAttempts of them). */
  readonly surgeFactor: number;
}

export interface SocialProviderSetting {
  readonly id: string;
  readonly enabled: boolean;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly idTokenSigningAlg: 'RS256' | 'ES256' | 'EdDSA';
}

export interface NotificationsConfig {
  /** smtp:// or smtps:// URL (nodemailer); null → e-mail goes to the development outbox. */
  readonly smtpUrl: string | null;
  readonly mailFrom: string;
  /** HTTP SMS provider endpoint and token; null → SMS goes to the development outbox. */
  readonly smsUrl: string | null;
  readonly smsApiToken: string | null;
  readonly pollIntervalMs: number;
  /** The live feed (`/v1/customer/notifications/stream`): heartbeat, safety-net poll, streams per customer per process. */
  readonly streamHeartbeatMs: number;
  readonly streamPollMs: number;
  readonly streamsPerCustomerMax: number;
}

/** Only for development and tests: production refuses it (see loadConfig). */
export const DEVELOPMENT_IDENTITY_SECRET = 'koban-development-identity-secret-do-not-use-in-production';

const SECRET_KEYS: ReadonlySet<keyof Config> = new Set(['databaseUrl', 'ledgerApiToken', 'identity', 'notifications', 'payments', 'operations', 'wallet']);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where browsers reach Koban when KOBAN_PUBLIC_URL is not set. On this machine that is localhost, not
 * 127.0.0.1: browsers treat localhost as a secure context (Secure and __Host- cookies over plain http),
 * and a WebAuthn RP ID cannot be an IP address.
 */
export function defaultPublicUrl(host: string, port: number | string): string {
  return `http://${host === '0.0.0.0' || host === '127.0.0.1' ? 'localhost' : host}:${port}`;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const reader = makeReader(env, problems);
  const nodeEnv = reader.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const host = reader.string('KOBAN_HOST', '127.0.0.1');
  const port = reader.integer('KOBAN_PORT', 3000, 0, 65535);
  const publicUrl = reader.string('KOBAN_PUBLIC_URL', defaultPublicUrl(host, port));
  const config: Config = {
    nodeEnv,
    host,
    port,
    publicUrl,
    nodeId: reader.string('KOBAN_NODE_ID', `${hostname()}:${process.pid}`),
    workers: reader.integer('KOBAN_WORKERS', 1, 1, 64),
    logLevel: reader.oneOf('KOBAN_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl: reader.optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: reader.integer('KOBAN_DATABASE_POOL_SIZE', 20, 1, 500),
    dataDir: path.resolve(reader.string('KOBAN_DATA_DIR', '.koban/data')),
    demoData: reader.boolean('KOBAN_DEMO_DATA', nodeEnv === 'development'),
    devSandboxes: reader.boolean('KOBAN_SANDBOXES', nodeEnv === 'development'),
    devIdentityProvider: reader.boolean('KOBAN_DEV_IDP', nodeEnv === 'development'),
    ledgerMaxAmountMinor: reader.bigint('KOBAN_LEDGER_MAX_AMOUNT', 100_000_000_000n),
    ledgerApiToken: reader.optionalSecret('KOBAN_LEDGER_API_TOKEN', 32),
    pendingSweepIntervalMs: reader.integer('KOBAN_PENDING_SWEEP_INTERVAL_MS', 1000, 50, 60_000),
    leaseTtlMs: reader.integer('KOBAN_LEASE_TTL_MS', 15_000, 100, 600_000),
    identity: readIdentityConfig(reader, nodeEnv, publicUrl, problems),
    notifications: readNotificationsConfig(reader, nodeEnv, problems),
    payments: readPaymentsConfig(reader, nodeEnv, host, problems),
    operations: readOperationsConfig(reader, nodeEnv, problems),
    wallet: readWalletConfig(reader),
    limits: readRuntimeLimits(reader),
  };
  if (nodeEnv === 'production') problems.push(...productionRefusals(config));
  if (config.workers > 1) problems.push(...workerRefusals(config));
  if (config.limits.drainDelayMs > 0 && config.limits.drainDelayMs >= config.limits.shutdownGraceMs) problems.push('KOBAN_DRAIN_DELAY_MS must be shorter than KOBAN_SHUTDOWN_GRACE_MS (the drain happens within the grace period)');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Several workers share their listening ports and the database; what lives in one process cannot be split. */
function workerRefusals(config: Config): string[] {
  const refused: string[] = [];
  if (config.databaseUrl === null) refused.push('KOBAN_WORKERS above 1 needs DATABASE_URL (the embedded database serves one process)');
  if (config.devSandboxes) refused.push('KOBAN_WORKERS above 1 needs KOBAN_SANDBOXES=false (each worker would run its own sandbox on the same port, with its own state)');
  if (config.devIdentityProvider) refused.push('KOBAN_WORKERS above 1 needs KOBAN_DEV_IDP=false (the development identity provider keeps its state in one process)');
  return refused;
}

/** A printable view of the configuration with every secret replaced. */
export function describeConfig(config: Config): Record<string, string> {
  const view: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const hidden = SECRET_KEYS.has(key as keyof Config) && value !== null;
    view[key] = hidden ? '[set, hidden]' : String(value);
  }
  return view;
}

/**
 * What is there only to demonstrate Koban is off unless asked for (on by default only under
 * NODE_ENV=development, which is `npm start`'s), and refused in production even when asked: demo
 * secrets are in the source, the sandboxes accept any card, and the development identity provider signs
 * anyone in. Production also needs a real database (the embedded one never fsyncs).
 */
function productionRefusals(config: Config): string[] {
  const refused = [
    { on: config.demoData, name: 'KOBAN_DEMO_DATA', why: 'demo wallets hold minted money and the demo merchant\'s API secret is public' },
    { on: config.operations.demoOperator, name: 'KOBAN_DEMO_OPERATOR', why: 'the demo operators\' passwords and TOTP secret are public' },
    { on: config.devSandboxes, name: 'KOBAN_SANDBOXES', why: 'the sandbox acquirer and bank accept any test card and account' },
    { on: config.devIdentityProvider, name: 'KOBAN_DEV_IDP', why: 'the development identity provider signs in anyone with a public password' },
  ];
  return [
    ...refused.filter((r) => r.on).map((r) => `${r.name} is refused in production: it is for demonstration only (${r.why})`),
    ...(config.databaseUrl === null ? ['DATABASE_URL is required in production (the embedded database does not fsync)'] : []),
  ];
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const SOCIAL_PROVIDER_ID = /^[a-z][a-z0-9-]{0,31}$/;
const SOCIAL_PROVIDERS_MAX = 16;

type Reader = ReturnType<typeof makeReader>;

function readIdentityConfig(reader: Reader, nodeEnv: Config['nodeEnv'], publicUrlText: string, problems: string[]): IdentityConfig {
  const secret = reader.optionalSecret('KOBAN_IDENTITY_SECRET', 32);
  if (secret === null && nodeEnv === 'production') problems.push('KOBAN_IDENTITY_SECRET is required in production (at least 32 characters)');
  if (secret === DEVELOPMENT_IDENTITY_SECRET && nodeEnv === 'production') problems.push('KOBAN_IDENTITY_SECRET must not be the development secret');
  const publicUrl = URL.parse(publicUrlText);
  if (publicUrl === null) problems.push('KOBAN_PUBLIC_URL must be a URL');
  const origins = reader.string('KOBAN_WEBAUTHN_ORIGINS', publicUrl?.origin ?? 'http://127.0.0.1').split(',').map((o) => o.trim()).filter((o) => o !== '');
  return {
    secret: secret ?? DEVELOPMENT_IDENTITY_SECRET,
    sessionIdleTimeoutMs: reader.integer('KOBAN_SESSION_IDLE_TIMEOUT_MS', 30 * MINUTE_MS, MINUTE_MS, HOUR_MS),
    sessionAbsoluteTimeoutMs: reader.integer('KOBAN_SESSION_ABSOLUTE_TIMEOUT_MS', 12 * HOUR_MS, 5 * MINUTE_MS, 24 * HOUR_MS),
    sessionDeviceBinding: reader.oneOf('KOBAN_SESSION_DEVICE_BINDING', ['required', 'optional'] as const, nodeEnv === 'production' ? 'required' : 'optional'),
    sessionProofRefreshMs: reader.integer('KOBAN_SESSION_PROOF_REFRESH_MS', 5 * MINUTE_MS, 10_000, HOUR_MS),
    recoveryCooldownMs: reader.integer('KOBAN_RECOVERY_COOLDOWN_MS', 24 * HOUR_MS, 0, 30 * 24 * HOUR_MS),
    passwordHashConcurrency: reader.integer('KOBAN_PASSWORD_HASH_CONCURRENCY', 4, 1, 64),
    passwordHashQueueMax: reader.integer('KOBAN_PASSWORD_HASH_QUEUE_MAX', 64, 0, 10_000),
    loginIpFailuresMax: reader.integer('KOBAN_LOGIN_IP_FAILURES_MAX', 30, 1, 100_000),
    loginNetworkFailuresMax: reader.integer('KOBAN_LOGIN_NETWORK_FAILURES_MAX', 100, 1, 1_000_000),
    loginGlobalFailuresAnomaly: reader.integer('KOBAN_LOGIN_GLOBAL_FAILURES_ANOMALY', 1000, 1, 100_000_000),
    loginWindowMs: reader.integer('KOBAN_LOGIN_WINDOW_MS', 15 * MINUTE_MS, MINUTE_MS, 24 * HOUR_MS),
    factorSlowdownBaseMs: reader.integer('KOBAN_FACTOR_SLOWDOWN_BASE_MS', 2000, 0, 60_000),
    smsPerDestinationPerHour: reader.integer('KOBAN_SMS_PER_DESTINATION_PER_HOUR', 10, 1, 1_000_000),
    smsPerNetworkPerHour: reader.integer('KOBAN_SMS_PER_NETWORK_PER_HOUR', 100, 1, 10_000_000),
    smsGlobalPerHour: reader.integer('KOBAN_SMS_GLOBAL_PER_HOUR', 10_000, 1, 100_000_000),
    signInHealth: {
      windowMs: reader.integer('KOBAN_SIGNIN_HEALTH_WINDOW_MS', 10 * MINUTE_MS, MINUTE_MS, 24 * HOUR_MS),
      baselineMs: reader.integer('KOBAN_SIGNIN_HEALTH_BASELINE_MS', HOUR_MS, MINUTE_MS, 7 * 24 * HOUR_MS),
      abandonAfterMs: reader.integer('KOBAN_SIGNIN_ABANDONED_AFTER_MS', 5 * MINUTE_MS, MINUTE_MS, HOUR_MS),
      minAttempts: reader.integer('KOBAN_SIGNIN_ALERT_MIN_ATTEMPTS', 50, 1, 100_000_000),
      failedPercent: reader.integer('KOBAN_SIGNIN_ALERT_FAILED_PERCENT', 50, 1, 100),
      minPending: reader.integer('KOBAN_SIGNIN_ALERT_MIN_PENDING', 10, 1, 100_000_000),
      abandonedPercent: reader.integer('KOBAN_SIGNIN_ALERT_ABANDONED_PERCENT', 50, 1, 100),
      surgeFactor: reader.integer('KOBAN_SIGNIN_ALERT_SURGE_FACTOR', 5, 2, 1_000),
    },
    webauthnRpId: reader.string('KOBAN_WEBAUTHN_RP_ID', publicUrl?.hostname ?? '127.0.0.1'),
    webauthnRpName: reader.string('KOBAN_WEBAUTHN_RP_NAME', 'Koban'),
    webauthnOrigins: origins,
    socialProviders: readSocialProviders(reader, problems),
  };
}

/** KOBAN_SOCIAL_PROVIDERS=dev,line then KOBAN_SOCIAL_<ID>_{ISSUER,CLIENT_ID,CLIENT_SECRET,ENABLED,ID_TOKEN_ALG}. */
function readSocialProviders(reader: Reader, problems: string[]): SocialProviderSetting[] {
  const ids = reader.string('KOBAN_SOCIAL_PROVIDERS', '').split(',').map((id) => id.trim()).filter((id) => id !== '');
  if (ids.length > SOCIAL_PROVIDERS_MAX) problems.push(`KOBAN_SOCIAL_PROVIDERS lists more than ${SOCIAL_PROVIDERS_MAX} providers`);
  return ids.slice(0, SOCIAL_PROVIDERS_MAX).flatMap((id): SocialProviderSetting[] => {
    if (!SOCIAL_PROVIDER_ID.test(id)) {
      problems.push(`KOBAN_SOCIAL_PROVIDERS: "${id}" must match ${SOCIAL_PROVIDER_ID}`);
      return [];
    }
    const prefix = `KOBAN_SOCIAL_${id.toUpperCase().replaceAll('-', '_')}_`;
    const issuer = reader.optionalUrl(`${prefix}ISSUER`, ['https:', 'http:']);
    const clientId = reader.string(`${prefix}CLIENT_ID`, '');
    const clientSecret = reader.optionalSecret(`${prefix}CLIENT_SECRET`, 16);
    if (issuer === null || clientId === '' || clientSecret === null) {
      problems.push(`social provider ${id} needs ${prefix}ISSUER, ${prefix}CLIENT_ID and ${prefix}CLIENT_SECRET`);
      return [];
    }
    return [{
      id, issuer, clientId, clientSecret,
      enabled: reader.boolean(`${prefix}ENABLED`, true),
      idTokenSigningAlg: reader.oneOf(`${prefix}ID_TOKEN_ALG`, ['RS256', 'ES256', 'EdDSA'] as const, 'RS256'),
    }];
  });
}

function readNotificationsConfig(reader: Reader, nodeEnv: Config['nodeEnv'], problems: string[]): NotificationsConfig {
  const smtpUrl = reader.optionalUrl('KOBAN_SMTP_URL', ['smtp:', 'smtps:']);
  const smsUrl = reader.optionalUrl('KOBAN_SMS_URL', ['https:', 'http:']);
  // Production never falls back to the development outbox: codes would sit readable in the database.
  if (nodeEnv === 'production' && (smtpUrl === null || smsUrl === null)) problems.push('KOBAN_SMTP_URL and KOBAN_SMS_URL are required in production');
  return {
    smtpUrl,
    mailFrom: reader.string('KOBAN_MAIL_FROM', 'Koban <no-reply@koban.invalid>'),
    smsUrl,
    smsApiToken: reader.optionalSecret('KOBAN_SMS_API_TOKEN', 16),
    pollIntervalMs: reader.integer('KOBAN_NOTIFICATIONS_POLL_INTERVAL_MS', 1000, 50, 60_000),
    streamHeartbeatMs: reader.integer('KOBAN_FEED_STREAM_HEARTBEAT_MS', 15_000, 100, 120_000),
    streamPollMs: reader.integer('KOBAN_FEED_STREAM_POLL_MS', 2_000, 50, 60_000),
    streamsPerCustomerMax: reader.integer('KOBAN_FEED_STREAMS_PER_CUSTOMER', 3, 1, 20),
  };
}

function readPaymentsConfig(reader: Reader, nodeEnv: Config['nodeEnv'], host: string, problems: string[]): PaymentsConfig {
  const secretKey = reader.optionalSecret('KOBAN_SECRET_KEY', 43);
  if (secretKey === null && nodeEnv === 'production') problems.push('KOBAN_SECRET_KEY is required in production (32 random bytes, base64 or hex)');
  return {
    secretKey,
    opaHost: reader.string('KOBAN_OPA_HOST', host),
    opaPort: reader.integer('KOBAN_OPA_PORT', 8443, 0, 65535),
    // Tests drive the OPA app with inject (no socket); the SDK test switches TLS on itself.
    opaTls: reader.boolean('KOBAN_OPA_TLS', nodeEnv !== 'test'),
    tlsDir: path.resolve(reader.string('KOBAN_TLS_DIR', '.koban/tls')),
    opaMaxSkewSec: reader.integer('KOBAN_OPA_MAX_SKEW_SEC', 120, 5, 900),
    opaRatePerSecond: reader.integer('KOBAN_OPA_RATE_PER_SECOND', 100, 1, 10_000),
    opaRateBurst: reader.integer('KOBAN_OPA_RATE_BURST', 300, 1, 100_000),
    opaRateNodes: reader.integer('KOBAN_OPA_RATE_NODES', 1, 1, 65_536),
    opaRateShared: reader.boolean('KOBAN_OPA_RATE_SHARED', false),
    paymentCodeTtlSec: reader.integer('KOBAN_PAYMENT_CODE_TTL_SEC', 300, 30, 900),
    dynamicQrTtlSec: reader.integer('KOBAN_DYNAMIC_QR_TTL_SEC', 300, 60, 86_400),
    orderRedirectHttpsOnly: nodeEnv === 'production',
    merchantFeeBps: reader.integer('KOBAN_MERCHANT_FEE_BPS', 198, 0, 10_000),
    merchantFourEyesAboveMinor: reader.bigint('KOBAN_MERCHANT_FOUR_EYES_ABOVE', 10_000_000n),
    paymentMaxAmountMinor: reader.bigint('KOBAN_PAYMENT_MAX_AMOUNT', 1_000_000n),
    strongConfirmationAboveMinor: reader.bigint('KOBAN_STRONG_CONFIRMATION_ABOVE', 10_000n),
    tillConfirmationAboveMinor: reader.bigint('KOBAN_TILL_CONFIRMATION_ABOVE', 10_000n),
    customerConfirmationTtlSec: reader.integer('KOBAN_CUSTOMER_CONFIRMATION_TTL_SEC', 180, 30, 900),
    cancelCutoffMinutes: reader.integer('KOBAN_CANCEL_CUTOFF_MINUTES', 15, 0, 720),
    webhookAttemptsMax: reader.integer('KOBAN_WEBHOOK_ATTEMPTS_MAX', 8, 1, 20),
    webhookTimeoutMs: reader.integer('KOBAN_WEBHOOK_TIMEOUT_MS', 10_000, 100, 30_000),
    webhookDispatchIntervalMs: reader.integer('KOBAN_WEBHOOK_DISPATCH_INTERVAL_MS', 1000, 20, 60_000),
    settlementDir: path.resolve(reader.string('KOBAN_SETTLEMENT_DIR', '.koban/settlement')),
    payoutBankUrl: reader.optionalUrl('KOBAN_BANK_URL', ['http:', 'https:']),
    payoutBankApiKey: reader.optionalSecret('KOBAN_BANK_API_KEY', 16),
    terminalCodeFailures: {
      slowDownFrom: reader.integer('KOBAN_TERMINAL_CODE_FAILURES_SLOWDOWN', 5, 1, 1_000_000),
      lockAt: reader.integer('KOBAN_TERMINAL_CODE_FAILURES_LOCK', 20, 2, 1_000_000),
      windowMs: reader.integer('KOBAN_TERMINAL_CODE_FAILURE_WINDOW_MS', 3_600_000, 60_000, 86_400_000),
      slowDownBaseMs: reader.integer('KOBAN_TERMINAL_CODE_SLOWDOWN_BASE_MS', 1000, 0, 60_000),
    },
  };
}

// Defaults (wallet-features-and-regulation.md, 7pay-incident-and-guidelines.md): ¥50k per top-up (au PAY's card cap),
// ¥100k a day — a third of the ¥300k/day that 7pay's attackers drained in minutes — ¥300k per 30 days, a ¥1M balance
// (PayPay's cap, the Type 2 funds-transfer ceiling), and PayPay's ¥5,000 per 24 h / 30 days for cards without 3-D Secure.
function readWalletConfig(reader: Reader): WalletConfig {
  return {
    acquirerUrl: reader.optionalUrl('KOBAN_ACQUIRER_URL', ['http:', 'https:']),
    acquirerApiKey: reader.optionalSecret('KOBAN_ACQUIRER_API_KEY', 16),
    acquirerWebhookSecret: reader.optionalSecret('KOBAN_ACQUIRER_WEBHOOK_SECRET', 16),
    bankUrl: reader.optionalUrl('KOBAN_BANK_URL', ['http:', 'https:']),
    bankApiKey: reader.optionalSecret('KOBAN_BANK_API_KEY', 16),
    bankWebhookSecret: reader.optionalSecret('KOBAN_BANK_WEBHOOK_SECRET', 16),
    ekycUrl: reader.optionalUrl('KOBAN_EKYC_URL', ['http:', 'https:']),
    ekycApiKey: reader.optionalSecret('KOBAN_EKYC_API_KEY', 16),
    ekycWebhookSecret: reader.optionalSecret('KOBAN_EKYC_WEBHOOK_SECRET', 16),
    providerTimeoutMs: reader.integer('KOBAN_PROVIDER_TIMEOUT_MS', 30_000, 100, 120_000),
    webhookToleranceSec: reader.integer('KOBAN_PROVIDER_WEBHOOK_TOLERANCE_SEC', 300, 10, 3600),
    limits: {
      perTopUpMaxMinor: reader.bigint('KOBAN_TOPUP_MAX', 50_000n),
      dailyMaxMinor: reader.bigint('KOBAN_TOPUP_DAILY_MAX', 100_000n),
      monthlyMaxMinor: reader.bigint('KOBAN_TOPUP_30D_MAX', 300_000n),
      walletBalanceMaxMinor: reader.bigint('KOBAN_WALLET_BALANCE_MAX', 1_000_000n),
      nonThreeDsPerTopUpMaxMinor: reader.bigint('KOBAN_TOPUP_NON3DS_MAX', 5_000n),
      nonThreeDsDailyMaxMinor: reader.bigint('KOBAN_TOPUP_NON3DS_DAILY_MAX', 5_000n),
      nonThreeDsMonthlyMaxMinor: reader.bigint('KOBAN_TOPUP_NON3DS_30D_MAX', 5_000n),
    },
    // Identity-verified customers (issue 19): PayPay's ¥500k per 24 h and ¥2M per 30 days for bank top-ups.
    verifiedLimits: {
      perTopUpMaxMinor: reader.bigint('KOBAN_VERIFIED_TOPUP_MAX', 500_000n),
      dailyMaxMinor: reader.bigint('KOBAN_VERIFIED_TOPUP_DAILY_MAX', 500_000n),
      monthlyMaxMinor: reader.bigint('KOBAN_VERIFIED_TOPUP_30D_MAX', 2_000_000n),
    },
    cardsPerCustomerMax: reader.integer('KOBAN_CARDS_PER_CUSTOMER_MAX', 3, 1, 20),
    bankAccountsPerCustomerMax: reader.integer('KOBAN_BANK_ACCOUNTS_PER_CUSTOMER_MAX', 2, 1, 20),
    cvvFailuresMax: reader.integer('KOBAN_CVV_FAILURES_MAX', 3, 1, 20),
    threeDSecureFailuresMax: reader.integer('KOBAN_3DS_FAILURES_MAX', 3, 1, 20),
    reconcileIntervalMs: reader.integer('KOBAN_TOPUP_RECONCILE_INTERVAL_MS', 5_000, 50, 600_000),
    reconcileAttemptsMax: reader.integer('KOBAN_TOPUP_RECONCILE_ATTEMPTS_MAX', 12, 1, 100),
    reconcileDelayMs: reader.integer('KOBAN_TOPUP_RECONCILE_DELAY_MS', 15_000, 0, 3_600_000),
    transfers: readTransfersConfig(reader),
    cash: {
      minMinor: reader.bigint('KOBAN_CASH_TOP_UP_MIN', 1_000n),
      perCodeMaxMinor: reader.bigint('KOBAN_CASH_TOP_UP_MAX', 50_000n),
      customerDailyMaxMinor: reader.bigint('KOBAN_CASH_TOP_UP_DAILY_MAX', 100_000n),
      storeDailyMaxMinor: reader.bigint('KOBAN_CASH_TOP_UP_STORE_DAILY_MAX', 3_000_000n),
      voidWindowMinutes: reader.integer('KOBAN_CASH_TOP_UP_VOID_MINUTES', 30, 1, 24 * 60),
    },
    autoTopUp: {
      perDayMax: reader.integer('KOBAN_AUTO_TOP_UPS_PER_DAY', 3, 1, 20),
      amountMaxMinor: reader.bigint('KOBAN_AUTO_TOP_UP_MAX', 30_000n),
      intervalMs: reader.integer('KOBAN_AUTO_TOP_UP_INTERVAL_MS', 5_000, 50, 600_000),
    },
    campaignFourEyesBudgetMinor: reader.bigint('KOBAN_CAMPAIGN_FOUR_EYES_BUDGET', 1_000_000n),
  };
}

// PayPay's figures (wallet-features-and-regulation.md §4.1): sending ¥300k a day and ¥1M a month for verified
// customers; balance payments ¥1M per 24 h verified, ¥500k / ¥2M unverified; withdrawals as bank top-ups. An
// unverified customer holds no funds-transfer balance, so sends and withdrawals are 0 for the basic tier (by law,
// not configurable). Unclaimed sends return after 48 hours; a withdrawal costs ¥100.
function readTransfersConfig(reader: Reader): TransfersConfig {
  return {
    claimWindowMs: reader.integer('KOBAN_TRANSFER_CLAIM_WINDOW_MS', 48 * 3_600_000, 1_000, 30 * 86_400_000),
    jobIntervalMs: reader.integer('KOBAN_TRANSFER_JOB_INTERVAL_MS', 30_000, 50, 3_600_000),
    withdrawalFeeMinor: BigInt(reader.integer('KOBAN_WITHDRAWAL_FEE', 100, 0, 10_000)),
    basic: {
      paymentDailyMaxMinor: reader.bigint('KOBAN_BASIC_PAYMENT_DAILY_MAX', 500_000n),
      paymentMonthlyMaxMinor: reader.bigint('KOBAN_BASIC_PAYMENT_30D_MAX', 2_000_000n),
      sendDailyMaxMinor: 0n, sendMonthlyMaxMinor: 0n, withdrawalDailyMaxMinor: 0n, withdrawalMonthlyMaxMinor: 0n,
    },
    verified: {
      paymentDailyMaxMinor: reader.bigint('KOBAN_VERIFIED_PAYMENT_DAILY_MAX', 1_000_000n),
      paymentMonthlyMaxMinor: reader.bigint('KOBAN_VERIFIED_PAYMENT_30D_MAX', 5_000_000n),
      sendDailyMaxMinor: reader.bigint('KOBAN_VERIFIED_SEND_DAILY_MAX', 300_000n),
      sendMonthlyMaxMinor: reader.bigint('KOBAN_VERIFIED_SEND_30D_MAX', 1_000_000n),
      withdrawalDailyMaxMinor: reader.bigint('KOBAN_VERIFIED_WITHDRAWAL_DAILY_MAX', 500_000n),
      withdrawalMonthlyMaxMinor: reader.bigint('KOBAN_VERIFIED_WITHDRAWAL_30D_MAX', 2_000_000n),
    },
  };
}

function readRuntimeLimits(reader: Reader): RuntimeLimits {
  return {
    databaseAcquireTimeoutMs: reader.integer('KOBAN_DATABASE_ACQUIRE_TIMEOUT_MS', 5_000, 100, 120_000),
    databaseStatementTimeoutMs: reader.integer('KOBAN_DATABASE_STATEMENT_TIMEOUT_MS', 20_000, 100, 3_600_000),
    databaseIdleInTransactionTimeoutMs: reader.integer('KOBAN_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 30_000, 100, 3_600_000),
    databaseStartupWaitMs: reader.integer('KOBAN_DATABASE_STARTUP_WAIT_MS', 120_000, 0, 3_600_000),
    httpRequestTimeoutMs: reader.integer('KOBAN_HTTP_REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000),
    httpHeadersTimeoutMs: reader.integer('KOBAN_HTTP_HEADERS_TIMEOUT_MS', 10_000, 1_000, 120_000),
    httpConnectionsMax: reader.integer('KOBAN_HTTP_CONNECTIONS_MAX', 2_000, 1, 100_000),
    shutdownGraceMs: reader.integer('KOBAN_SHUTDOWN_GRACE_MS', 10_000, 0, 120_000),
    drainDelayMs: reader.integer('KOBAN_DRAIN_DELAY_MS', 0, 0, 60_000),
  };
}

function readOperationsConfig(reader: Reader, nodeEnv: Config['nodeEnv'], problems: string[]): OperationsConfig {
  const secret = reader.optionalSecret('KOBAN_OPERATOR_SECRET', 32);
  if (nodeEnv === 'production' && (secret === null || secret === DEVELOPMENT_OPERATOR_SECRET)) {
    problems.push('KOBAN_OPERATOR_SECRET is required in production (at least 32 characters, not the development secret)');
  }
  return {
    operatorSecret: secret ?? DEVELOPMENT_OPERATOR_SECRET,
    // ASVS 7.3.1 / PCI DSS 8.2.8: 15 minutes idle for administrative access.
    operatorIdleTimeoutMs: reader.integer('KOBAN_OPERATOR_IDLE_TIMEOUT_MS', 15 * MINUTE_MS, MINUTE_MS, 15 * MINUTE_MS),
    operatorAbsoluteTimeoutMs: reader.integer('KOBAN_OPERATOR_ABSOLUTE_TIMEOUT_MS', 8 * HOUR_MS, 15 * MINUTE_MS, 12 * HOUR_MS),
    switchPollIntervalMs: reader.integer('KOBAN_SWITCH_POLL_INTERVAL_MS', 500, 50, 1000),
    auditSealIntervalMs: reader.integer('KOBAN_AUDIT_SEAL_INTERVAL_MS', 1000, 50, 60_000),
    demoOperator: reader.boolean('KOBAN_DEMO_OPERATOR', nodeEnv === 'development'),
    operatorPasskeyEnrolmentWindowMs: reader.integer('KOBAN_OPERATOR_ENROLMENT_WINDOW_MS', 72 * HOUR_MS, 10 * MINUTE_MS, 30 * 24 * HOUR_MS),
  };
}

function makeReader(env: Env, problems: string[]) {
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const parsed = /^[0-9]+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
        problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
        return fallback;
      }
      return parsed;
    },
    bigint(name: string, fallback: bigint): bigint {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^[1-9][0-9]{0,17}$/.test(value)) {
        problems.push(`${name} must be a positive whole number below 10^18 (got "${value}")`);
        return fallback;
      }
      return BigInt(value);
    },
    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      problems.push(`${name} must be true or false (got "${value}")`);
      return fallback;
    },
    oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      if ((allowed as readonly string[]).includes(value)) return value as T;
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    },
    optionalUrl(name: string, protocols: readonly string[]): string | null {
      const value = raw(name);
      if (value === undefined) return null;
      const url = URL.parse(value);
      if (url === null || !protocols.includes(url.protocol)) {
        // Never echo the value: a database URL usually carries a password.
        problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
        return null;
      }
      return value;
    },
    optionalSecret(name: string, minLength: number): string | null {
      const value = raw(name);
      if (value === undefined) return null;
      if (value.length < minLength) {
        problems.push(`${name} must be at least ${minLength} characters long`);
        return null;
      }
      return value;
    },
  };
}

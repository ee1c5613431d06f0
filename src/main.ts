/**
 * `npm start`: Koban on the embedded database (or DATABASE_URL), migrated, with demo data, serving
 * the APIs and printing where. Stops on SIGINT/SIGTERM within KOBAN_SHUTDOWN_GRACE_MS (and a moment),
 * releasing the data folder lock. The configuration is validated before anything starts: under
 * NODE_ENV=production the demonstration parts (demo data and operators, sandboxes, development identity
 * provider) are refused, and nothing this prints carries a secret.
 */
import { ConfigError, describeConfig, loadConfig } from './platform/config.ts';
import { openDatabase } from './platform/db/open.ts';
import { migrate } from './platform/db/migrate.ts';
import { createKoban } from './koban.ts';
import { stopOnSignals } from './http/shutdown.ts';
import { seedDemoData } from './demo/seed.ts';
import { DEMO_MERCHANT_OWNER, demoMerchantOwnerCode, seedDemoMerchantOwner } from './demo/demo-merchant-staff.ts';
import { issueDemoTillCode, seedDemoPayments } from './demo/demo-payments.ts';
import { DEMO_OPERATOR_PASSWORD, DEMO_OPERATORS, seedDemoOperators } from './operations/operators/demo.ts';
import { ensureWebBuilt, registerWebApps } from './http/web.ts';
import { startDevSandboxes, type DevSandboxes } from './demo/sandboxes.ts';
import { startDevIdentityProvider, type DevIdentityProvider } from './demo/dev-idp.ts';
import { DEMO_CUSTOMER_PASSWORD, DEMO_CUSTOMERS, seedDemoCustomers } from './demo/demo-customers.ts';
import { AlreadyRunning, holdEmbeddedFolder, quietWhileStarting, START_LOG, withProviderNoticesLogged } from './demo/start-up.ts';
import { newLocalAdminToken, publishLocalAdmin } from './platform/local-admin.ts';
import { registerLocalTillActivationRoute } from './payments/terminal/issue-routes.ts';
import { assert } from './platform/assert.ts';
import type { Koban } from './koban.ts';
import type { Database } from './platform/db/database.ts';
import cluster from 'node:cluster';
import { superviseWorkers, WORKER_READY } from './workers.ts';

async function main(): Promise<void> {
  // Every problem at once, production's refusals included, before a port is bound or a row written.
  const asked = loadConfig(process.env);
  // KOBAN_WORKERS=N (koban start --workers N): this process only supervises N Koban workers (src/workers.ts).
  if (asked.workers > 1 && cluster.isPrimary) return superviseWorkers(asked);
  // Before any port is bound: a second npm start on the same folder stops here and names the first.
  const folderLock = holdEmbeddedFolder(process.env);
  const sandboxes: DevSandboxes = asked.devSandboxes ? await startDevSandboxes(process.env) : { env: process.env, banner: [], close: async () => undefined };
  const devIdp: DevIdentityProvider = asked.devIdentityProvider
    ? await withProviderNoticesLogged(() => startDevIdentityProvider(sandboxes.env))
    : { env: sandboxes.env, issuer: null, banner: [], close: async () => undefined };
  // Read again with the sandboxes' and the identity provider's settings added.
  const config = loadConfig(devIdp.env);
  // A PostgreSQL server that is not up yet is waited for, with backoff (KOBAN_DATABASE_STARTUP_WAIT_MS).
  const db = await openDatabase(config, folderLock);
  const { applied } = await migrate(db);
  const koban = await createKoban(config, db);
  const restoreLogLevels = quietWhileStarting([koban.app.log, koban.payments.opa.app.log]);
  // Beside an embedded Koban no other process may open the folder: commands ask this one instead.
  const localAdminToken = config.databaseUrl === null ? newLocalAdminToken() : null;
  if (localAdminToken !== null) registerLocalTillActivationRoute(koban.app, koban.payments.terminals, localAdminToken);
  if (config.demoData) await seedDemo(koban, devIdp.issuer);
  const webApps = await ensureWebBuilt((message) => process.stdout.write(`${message}\n`));
  if (webApps) await registerWebApps(koban.app, { publicUrl: config.publicUrl });
  koban.startBackgroundWork();
  await koban.app.listen({ host: config.host, port: config.port });
  const address = koban.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const base = publicBase(config.publicUrl, port);
  const unpublishLocalAdmin = localAdminToken === null ? () => undefined : publishLocalAdmin(config.dataDir, loopbackUrl(config.host, port), localAdminToken);
  printBanner(base, db.description, db.durability, applied, config, webApps);
  if (sandboxes.banner.length > 0) process.stdout.write(`${sandboxes.banner.join('\n')}\n`);
  if (devIdp.banner.length > 0) process.stdout.write(`${devIdp.banner.join('\n')}\n`);
  // The merchant API (PayPay OPA-compatible, and the till API) on its own HTTPS listener with the dev CA.
  const opaUrl = await koban.payments.listenOpa();
  process.stdout.write(`  Merchant API (OPA) ${opaUrl}   (clients trust the dev CA with NODE_EXTRA_CA_CERTS=${config.payments.tlsDir}/ca.pem)\n`);
  if (config.demoData) await printDemo(koban, db, base);
  process.stdout.write(`  Start-up log       ${START_LOG}\n\n`);
  restoreLogLevels();
  if (cluster.isWorker) process.send?.(WORKER_READY);

  // Bounded: in-flight requests and open streams cannot keep Koban from stopping (src/http/shutdown.ts).
  stopOnSignals({
    graceMs: config.limits.shutdownGraceMs,
    drain: { delayMs: config.limits.drainDelayMs, begin: () => koban.drain.begin() },
    signals: cluster.isWorker ? ['SIGTERM'] : ['SIGINT', 'SIGTERM'],
    log: (message, level) => koban.app.log[level](message),
    servers: () => [koban.app.server, koban.payments.opa.app.server],
    stop: async () => {
      unpublishLocalAdmin();
      await koban.close();
      await sandboxes.close();
      await devIdp.close();
      await db.close();
    },
  });
}

/** The demo's wallets, merchant, customers and operators; configuration refuses all of it in production. */
async function seedDemo(koban: Koban, devIdpIssuer: string | null): Promise<void> {
  const config = koban.config;
  assert(config.nodeEnv !== 'production' && config.demoData, 'demo data is never seeded in production');
  await seedDemoData(koban.db, koban.ledger);
  await seedDemoCustomers(koban, devIdpIssuer);
  if (config.operations.demoOperator) await seedDemoOperators(koban.operations.operators, config.nodeEnv);
}

/** Demo credentials are public (they are in the source), and are printed only because they are demo ones. */
async function printDemo(koban: Koban, db: Database, base: string): Promise<void> {
  assert(koban.config.nodeEnv !== 'production' && koban.config.demoData, 'no credential is printed in production');
  const demo = await seedDemoPayments(db, koban.payments.box);
  process.stdout.write(`  Demo merchant key  ${demo.apiKey} / ${demo.apiSecret}   (Koban Mart; store QR ${demo.storeQr})\n`);
  const till = await issueDemoTillCode(koban.payments.terminals);
  process.stdout.write(`  Demo till code     ${till.code}   (enter at ${base}/till/ to make this browser ${till.storeName} ${till.terminalName}; one use, 15 min; a restart prints a new one)\n`);
  await seedDemoMerchantOwner(db, koban.payments.box, koban.config.nodeEnv);
  process.stdout.write(`  Demo merchant staff ${DEMO_MERCHANT_OWNER.email} / ${DEMO_MERCHANT_OWNER.password}   (owner of Koban Mart at ${base}/merchant/; authenticator secret ${DEMO_MERCHANT_OWNER.totpSecret}, code now ${await demoMerchantOwnerCode()})\n`);
  process.stdout.write(`  Demo customers     ${DEMO_CUSTOMERS.map((c) => c.email).join(', ')} / ${DEMO_CUSTOMER_PASSWORD}   (the codes they are sent: ${base}/dev/outbox)\n`);
  if (koban.config.operations.demoOperator) {
    process.stdout.write(`  Demo operators     ${DEMO_OPERATORS.map((o) => o.email).join(', ')} / ${DEMO_OPERATOR_PASSWORD}   (authenticator code: npm run koban -- operator demo-code)\n`);
  }
}

function printBanner(base: string, database: string, durability: string, applied: string[], config: ReturnType<typeof loadConfig>, webApps: boolean): void {
  const lines = [
    '',
    'Koban is running.',
    ...(webApps ? [`  Wallet (customers) ${base}/wallet/`, `  Till (stores)      ${base}/till/`, `  Console (operators) ${base}/console/`, `  Merchant portal    ${base}/merchant/`] : ['  Web apps           not built (run npm ci)']),
    `  API                ${base}`,
    `  API docs (OpenAPI) ${base}/docs   (document: ${base}/openapi.json)`,
    `  Health / readiness ${base}/healthz   ${base}/readyz`,
    `  Metrics            ${base}/metrics`,
    `  Ledger API         ${config.ledgerApiToken === null ? 'off (set KOBAN_LEDGER_API_TOKEN to enable)' : `${base}/v1/ledger`}`,
    `  Database           ${database}`,
    durability === 'trial' ? '  Durability         TRIAL: the embedded database does not fsync; use DATABASE_URL for real money' : '  Durability         durable (PostgreSQL)',
    `  Migrations         ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`,
    `  Demo data          ${config.demoData ? 'loaded' : 'off'}`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (config.logLevel === 'debug' || config.logLevel === 'trace') process.stdout.write(`${JSON.stringify(describeConfig(config))}\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AlreadyRunning) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Koban could not start: ${(error as Error).message}\n`);
  process.exit(1);
});

/** How a command on this machine reaches Koban: loopback unless Koban listens on one other address only. */
function loopbackUrl(host: string, port: number): string {
  const any = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' || host === 'localhost';
  return `http://${any ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The public URL with the port actually bound (KOBAN_PORT=0 picks one). */
function publicBase(publicUrl: string, port: number): string {
  const url = new URL(publicUrl);
  if (url.port === '0') url.port = String(port);
  return url.origin;
}

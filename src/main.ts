/**
 * `npm start`: Koban on the embedded database (or DATABASE_URL), migrated, with demo data, serving
 * the APIs and printing where. Stops on SIGINT/SIGTERM within KOBAN_SHUTDOWN_GRACE_MS (and a moment),
 * releasing the data folder lock.
 */
import { ConfigError, describeConfig, loadConfig } from './platform/config.ts';
import { openDatabase } from './platform/db/open.ts';
import { migrate } from './platform/db/migrate.ts';
import { createKoban } from './koban.ts';
import { stopOnSignals } from './http/shutdown.ts';
import { seedDemoData } from './demo/seed.ts';
import { issueDemoTillCode, seedDemoPayments } from './payments/demo.ts';
import { DEMO_OPERATOR_PASSWORD, DEMO_OPERATORS, seedDemoOperators } from './operations/operators/demo.ts';
import { ensureWebBuilt, registerWebApps } from './http/web.ts';
import { startDevSandboxes } from './demo/sandboxes.ts';
import { startDevIdentityProvider } from './demo/dev-idp.ts';
import { DEMO_CUSTOMER_PASSWORD, DEMO_CUSTOMERS, seedDemoCustomers } from './demo/demo-customers.ts';

async function main(): Promise<void> {
  const sandboxes = await startDevSandboxes(process.env);
  const devIdp = await startDevIdentityProvider(sandboxes.env);
  const config = loadConfig(devIdp.env);
  // A PostgreSQL server that is not up yet is waited for, with backoff (KOBAN_DATABASE_STARTUP_WAIT_MS).
  const db = await openDatabase(config);
  const { applied } = await migrate(db);
  const koban = await createKoban(config, db);
  if (config.demoData) await seedDemoData(db, koban.ledger);
  if (config.demoData) await seedDemoCustomers(koban, devIdp.issuer);
  if (config.demoData && config.operations.demoOperator) await seedDemoOperators(koban.operations.operators, config.nodeEnv);
  const webApps = await ensureWebBuilt((message) => process.stdout.write(`${message}\n`));
  if (webApps) await registerWebApps(koban.app, { publicUrl: config.publicUrl });
  koban.startBackgroundWork();
  await koban.app.listen({ host: config.host, port: config.port });
  const address = koban.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const base = publicBase(config.publicUrl, port);
  printBanner(base, db.description, db.durability, applied, config, webApps);
  if (sandboxes.banner.length > 0) process.stdout.write(`${sandboxes.banner.join('\n')}\n`);
  if (devIdp.banner.length > 0) process.stdout.write(`${devIdp.banner.join('\n')}\n`);
  // The merchant API (PayPay OPA-compatible, and the till API) on its own HTTPS listener with the dev CA.
  const opaUrl = await koban.payments.listenOpa();
  process.stdout.write(`  Merchant API (OPA) ${opaUrl}   (clients trust the dev CA with NODE_EXTRA_CA_CERTS=${config.payments.tlsDir}/ca.pem)\n`);
  if (config.demoData) {
    const demo = await seedDemoPayments(db, koban.payments.box);
    process.stdout.write(`  Demo merchant key  ${demo.apiKey} / ${demo.apiSecret}   (Koban Mart; store QR ${demo.storeQr})\n`);
    const till = await issueDemoTillCode(koban.payments.terminals);
    process.stdout.write(`  Demo till code     ${till.code}   (enter at ${base}/till/ to make this browser ${till.storeName} ${till.terminalName}; one use, 15 min; a restart prints a new one)\n`);
    process.stdout.write(`  Demo customers     ${DEMO_CUSTOMERS.map((c) => c.email).join(', ')} / ${DEMO_CUSTOMER_PASSWORD}   (the codes they are sent: ${base}/dev/outbox)\n`);
    if (config.operations.demoOperator) {
      process.stdout.write(`  Demo operators     ${DEMO_OPERATORS.map((o) => o.email).join(', ')} / ${DEMO_OPERATOR_PASSWORD}   (authenticator code: npm run koban -- operator demo-code)\n`);
    }
  }
  process.stdout.write('\n');

  // Bounded: in-flight requests and open streams cannot keep Koban from stopping (src/http/shutdown.ts).
  stopOnSignals({
    graceMs: config.limits.shutdownGraceMs,
    log: (message, level) => koban.app.log[level](message),
    servers: () => [koban.app.server, koban.payments.opa.app.server],
    stop: async () => {
      await koban.close();
      await sandboxes.close();
      await devIdp.close();
      await db.close();
    },
  });
}

function printBanner(base: string, database: string, durability: string, applied: string[], config: ReturnType<typeof loadConfig>, webApps: boolean): void {
  const lines = [
    '',
    'Koban is running.',
    ...(webApps ? [`  Wallet (customers) ${base}/wallet/`, `  Till (stores)      ${base}/till/`, `  Console (operators) ${base}/console/`] : ['  Web apps           not built (run npm ci)']),
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
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Koban could not start: ${(error as Error).message}\n`);
  process.exit(1);
});

/** The public URL with the port actually bound (KOBAN_PORT=0 picks one). */
function publicBase(publicUrl: string, port: number): string {
  const url = new URL(publicUrl);
  if (url.port === '0') url.port = String(port);
  return url.origin;
}

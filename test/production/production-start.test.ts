/**
 * Production settings on a real `node src/main.ts` against the test PostgreSQL. Each demonstration
 * part asked for (demo data, demo operators, sandboxes, development identity provider) is refused with a
 * clear start-up error — every problem at once — before a row is written or a port bound; a clean
 * production configuration starts, serves, stops on SIGTERM, prints no secret and creates no demo rows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CUSTOMER_PASSWORD } from '../../src/demo/demo-customers.ts';
import { DEV_SANDBOX_KEYS } from '../../src/demo/sandboxes.ts';
import { DEV_IDP_USERS } from '../../src/demo/dev-idp.ts';
import { ensureWebBuilt } from '../../src/http/web.ts';
import { PLATFORM_ACCOUNTS, TEST_PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { DEMO_OPERATOR_PASSWORD, DEMO_OPERATOR_TOTP_SECRET } from '../../src/operations/operators/demo.ts';
import { DEMO_PAYMENTS } from '../../src/demo/demo-payments.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** Bounds on the child process, generous for a busy two-core machine: they only stop a hung test. */
const START_BOUND_MS = 90_000;
const EXIT_BOUND_MS = 30_000;

let db: TestDatabase;
let folder: string;

beforeAll(async () => {
  // main.ts builds stale web apps at start; built here once, the child only serves them.
  expect(await ensureWebBuilt(() => undefined)).toBe(true);
  db = await createTestDatabase();
  folder = mkdtempSync(path.join(os.tmpdir(), 'koban-production-'));
}, 240_000);
afterAll(async () => {
  await db.close();
  rmSync(folder, { recursive: true, force: true });
});

const SECRETS = {
  identity: 'production-identity-secret-0123456789abcdef',
  operator: 'production-operator-secret-0123456789abcdef',
  key: 'c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1mb3ItdGVzdHM=',
  sms: 'production-sms-token-0123456789',
} as const;

/** The test server trusts local connections, so a password in the URL is only there to be hidden. */
function withPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.password = 'database-password-never-printed';
  return url.toString();
}

/** A valid production environment: real database, every secret set, the outside world's addresses. */
function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: withPassword(db.url ?? ''),
    KOBAN_HOST: '127.0.0.1', KOBAN_PORT: '0', KOBAN_OPA_HOST: '127.0.0.1', KOBAN_OPA_PORT: '0',
    KOBAN_IDENTITY_SECRET: SECRETS.identity, KOBAN_OPERATOR_SECRET: SECRETS.operator, KOBAN_SECRET_KEY: SECRETS.key,
    KOBAN_SMTP_URL: 'smtp://127.0.0.1:1', KOBAN_SMS_URL: 'http://127.0.0.1:1/sms', KOBAN_SMS_API_TOKEN: SECRETS.sms,
    KOBAN_DATA_DIR: path.join(folder, 'data'), KOBAN_TLS_DIR: path.join(folder, 'tls'), KOBAN_SETTLEMENT_DIR: path.join(folder, 'settlement'),
    ...extra,
  };
}

/** Everything that must never appear in production output: the deployment's secrets and every public demo one. */
function secretsOf(env: Record<string, string>): string[] {
  const databasePassword = new URL(env.DATABASE_URL ?? 'postgres://x@y/z').password;
  return [
    SECRETS.identity, SECRETS.operator, SECRETS.key, SECRETS.sms, ...(databasePassword === '' ? [] : [databasePassword]),
    DEMO_PAYMENTS.credential.apiKey, DEMO_PAYMENTS.credential.apiSecret, DEMO_OPERATOR_PASSWORD, DEMO_OPERATOR_TOTP_SECRET, DEMO_CUSTOMER_PASSWORD,
    ...Object.values(DEV_SANDBOX_KEYS), ...DEV_IDP_USERS.map((user) => user.password),
  ];
}

interface Started {
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  stop(): void;
}

function startKoban(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const bounded = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} not seen within ${ms} ms; output:\n${output}`)), ms); });
    return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
  };
  return {
    output: () => output,
    exited: bounded(exited, START_BOUND_MS + EXIT_BOUND_MS, 'exit'),
    waitFor(pattern) {
      return bounded(new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = (): void => {
          const match = output.match(pattern);
          if (match !== null) {
            listeners.delete(check);
            resolve(match);
          }
        };
        listeners.add(check);
        void exited.then(() => reject(new Error(`Koban exited before ${pattern}; output:\n${output}`)));
        check();
      }), START_BOUND_MS, String(pattern));
    },
    stop: () => child.kill('SIGTERM'),
  };
}

async function count(sql: string): Promise<number> {
  return (await db.pool.query<{ n: number }>(`select count(*)::int as n from ${sql}`)).rows[0]?.n ?? -1;
}

/** Rows only the demonstration parts would write. */
async function demoRows(): Promise<Record<string, number>> {
  return {
    merchants: await count('merchants'),
    credentials: await count('merchant_api_credentials'),
    customers: await count('customers'),
    wallets: await count('customer_wallets'),
    operators: await count('operators'),
    transfers: await count('transfers'),
    socialIdentities: await count('social_identities'),
    nonPlatformAccounts: await count(`accounts where id <> all('{${[...Object.values(PLATFORM_ACCOUNTS), ...Object.values(TEST_PLATFORM_ACCOUNTS)].join(',')}}'::uuid[])`),
  };
}

const NO_DEMO_ROWS = { merchants: 0, credentials: 0, customers: 0, wallets: 0, operators: 0, transfers: 0, socialIdentities: 0, nonPlatformAccounts: 0 };

const DEMONSTRATION = ['KOBAN_DEMO_DATA', 'KOBAN_DEMO_OPERATOR', 'KOBAN_SANDBOXES', 'KOBAN_DEV_IDP'] as const;

describe('NODE_ENV=production', () => {
  it('refuses every demonstration part asked for, all in one start-up error, and starts nothing', async () => {
    const env = productionEnv(Object.fromEntries(DEMONSTRATION.map((name) => [name, 'true'])));
    const koban = startKoban(env);
    expect(await koban.exited).toBe(1);
    const output = koban.output();
    expect(output).toMatch(/^Invalid configuration:\n/);
    for (const name of DEMONSTRATION) expect(output).toContain(`  - ${name} is refused in production: it is for demonstration only`);
    for (const secret of secretsOf(env)) expect(output).not.toContain(secret);
    expect(await demoRows()).toEqual(NO_DEMO_ROWS);
  }, START_BOUND_MS + EXIT_BOUND_MS);

  it('refuses each demonstration part on its own, naming it', async () => {
    const exits = await Promise.all(DEMONSTRATION.map(async (name) => {
      const koban = startKoban(productionEnv({ [name]: '1' }));
      return { name, code: await koban.exited, output: koban.output() };
    }));
    for (const { name, code, output } of exits) {
      expect(code, name).toBe(1);
      const refusals = output.split('\n').filter((line) => line.includes('is refused in production'));
      expect(refusals, name).toHaveLength(1);
      expect(refusals[0], name).toMatch(new RegExp(`^  - ${name} is refused in production: it is for demonstration only \\(.+\\)$`));
    }
    expect(await demoRows()).toEqual(NO_DEMO_ROWS);
  }, START_BOUND_MS + EXIT_BOUND_MS);

  it('refuses the embedded database and a missing key-encryption key in the same start-up error', async () => {
    const koban = startKoban(productionEnv({ DATABASE_URL: '', KOBAN_SECRET_KEY: '', KOBAN_DEMO_DATA: 'true' }));
    expect(await koban.exited).toBe(1);
    for (const problem of ['DATABASE_URL is required in production', 'KOBAN_SECRET_KEY is required in production', 'KOBAN_DEMO_DATA is refused in production']) {
      expect(koban.output()).toContain(problem);
    }
  }, START_BOUND_MS + EXIT_BOUND_MS);

  it('a clean production configuration starts, serves, stops on SIGTERM, prints no secret and creates no demo rows', async () => {
    const env = productionEnv();
    const koban = startKoban(env);
    const [, api] = await koban.waitFor(/^ {2}API +(http:\/\/\S+)$/m);
    await koban.waitFor(/^ {2}Merchant API \(OPA\) /m);
    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', durability: 'durable' });
    // Nothing for demonstration is served either: the development outbox is not mounted.
    expect((await fetch(`${api}/dev/outbox`)).status).toBe(404);
    koban.stop();
    expect(await koban.exited).toBe(0);
    const output = koban.output();
    expect(output).toContain('Demo data          off');
    for (const line of ['Sandbox acquirer', 'Sandbox bank', 'Dev identity prov.', 'Demo merchant key', 'Demo till code', 'Demo customers', 'Demo operators']) {
      expect(output).not.toContain(line);
    }
    for (const secret of secretsOf(env)) expect(output).not.toContain(secret);
    expect(await demoRows()).toEqual(NO_DEMO_ROWS);
  }, START_BOUND_MS + EXIT_BOUND_MS);
});

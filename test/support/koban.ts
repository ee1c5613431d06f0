import { loadConfig, type Config } from '../../src/platform/config.ts';
import { createKoban, type Koban } from '../../src/koban.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const TEST_LEDGER_TOKEN = 'test-ledger-token-0123456789abcdef';

/**
 * Tests sign up and step up many customers from a few addresses within seconds: the SMS budgets and the
 * second-factor slow-down and the till code throttle (issue 14) are opened wide here, and the tests of those limits set them back.
 */
const WIDE_OPEN_LIMITS: Record<string, string> = {
  KOBAN_FACTOR_SLOWDOWN_BASE_MS: '0', KOBAN_SMS_PER_DESTINATION_PER_HOUR: '1000000', KOBAN_SMS_PER_NETWORK_PER_HOUR: '10000000', KOBAN_SMS_GLOBAL_PER_HOUR: '100000000',
  // Tests present many wrong codes from one till; test/payments/terminal-code-guessing.test.ts sets the throttle back.
  KOBAN_TERMINAL_CODE_FAILURES_SLOWDOWN: '1000000', KOBAN_TERMINAL_CODE_FAILURES_LOCK: '1000000',
};

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', KOBAN_LOG_LEVEL: 'silent', KOBAN_LEDGER_API_TOKEN: TEST_LEDGER_TOKEN, KOBAN_PORT: '0', ...WIDE_OPEN_LIMITS, ...overrides });
}

/** A Koban on its own fresh database, driven with app.inject (no socket) unless listened on. */
export async function startTestKoban(options: { db?: Database; env?: Record<string, string>; beforeReady?: (app: Koban['app']) => Promise<void>; clock?: Clock } = {}): Promise<{ koban: Koban; db: TestDatabase | Database; close(): Promise<void> }> {
  const ownDb = options.db === undefined;
  const db = options.db ?? await createTestDatabase();
  const koban = await createKoban(testConfig(options.env), db, options.clock === undefined ? {} : { clock: options.clock });
  await options.beforeReady?.(koban.app);
  await koban.app.ready();
  return {
    koban,
    db,
    async close() {
      await koban.close();
      if (ownDb) await db.close();
    },
  };
}

export const ledgerAuth = { authorization: `Bearer ${TEST_LEDGER_TOKEN}` };

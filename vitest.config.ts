import { defineConfig } from 'vitest/config';

/**
 * Two projects: everything against the real PostgreSQL that `npm test` starts, and a smoke suite on
 * the embedded PGlite so the `npm start` default cannot silently break.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        test: {
          name: 'postgres',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'sandbox/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: ['test/smoke/**', 'node_modules/**'],
          env: { KOBAN_TEST_DB: 'postgres' },
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'pglite-smoke',
          include: ['test/smoke/**/*.test.ts'],
          env: { KOBAN_TEST_DB: 'pglite' },
          // PGlite is PostgreSQL in WebAssembly on the test process's own thread: several smoke files at once on
          // a busy 2-core machine measured 43–62 s for the restart test alone. A hang still fails, later.
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});

// `npm start`'s sandboxes: started in development on their own ports, never in production or when a real acquirer is set.
import { describe, expect, it } from 'vitest';
import { startDevSandboxes } from '../../src/demo/sandboxes.ts';
import { loadConfig } from '../../src/platform/config.ts';

describe('development sandboxes', () => {
  it('starts the acquirer and the bank and points Koban\'s configuration at them', async () => {
    const sandboxes = await startDevSandboxes({ NODE_ENV: 'development', KOBAN_SANDBOX_ACQUIRER_PORT: '0', KOBAN_SANDBOX_BANK_PORT: '0' });
    try {
      const config = loadConfig({ ...sandboxes.env, KOBAN_LOG_LEVEL: 'silent' });
      expect(config.wallet.acquirerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(config.wallet.bankUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(config.payments.payoutBankUrl).toBe(config.wallet.bankUrl);
      expect((await fetch(`${config.wallet.acquirerUrl}/healthz`)).status).toBe(200);
      const unauthorised = await fetch(`${config.wallet.bankUrl}/v1/mandates/mdt_x`);
      expect(unauthorised.status).toBe(401);
      expect(sandboxes.banner.join('\n')).toContain(config.wallet.acquirerUrl);
    } finally {
      await sandboxes.close();
    }
  });

  it('starts nothing in production or when a real acquirer is configured', async () => {
    for (const env of [{ NODE_ENV: 'production' }, { NODE_ENV: 'development', KOBAN_ACQUIRER_URL: 'https://acquirer.example' }, { KOBAN_SANDBOXES: 'false' }]) {
      const sandboxes = await startDevSandboxes(env);
      expect(sandboxes.env).toBe(env);
      expect(sandboxes.banner).toEqual([]);
      await sandboxes.close();
    }
  });
});

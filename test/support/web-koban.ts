/**
 * A Koban serving the web apps to a real browser, shared by the browser tests. It listens on
 * http://localhost:<port>: browsers treat localhost as a secure context (WebAuthn, `__Host-`/Secure
 * cookies over plain http) and the origin must be the configured public URL for the CSRF/Origin
 * checks. With `sandboxes`, the sandbox acquirer and bank run beside it so top-ups work end to end.
 */
import { createServer } from 'node:net';
import { buildAcquirer } from '../../sandbox/acquirer/app.ts';
import { buildBank } from '../../sandbox/bank/app.ts';
import { ensureWebBuilt, registerWebApps } from '../../src/http/web.ts';
import type { Koban } from '../../src/koban.ts';
import { KEYS } from '../wallet/support.ts';
import { startTestKoban } from './koban.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface WebKoban { koban: Koban; base: string; close(): Promise<void> }

/** `port` when the caller must know it first (an identity provider's redirect URI names it). */
export async function startWebKoban(options: { env?: Record<string, string>; sandboxes?: boolean; port?: number } = {}): Promise<WebKoban> {
  if (!(await ensureWebBuilt(() => undefined))) throw new Error('the web apps could not be built');
  const closers: Array<() => Promise<void>> = [];
  let sandboxEnv: Record<string, string> = {};
  if (options.sandboxes === true) {
    const acquirer = buildAcquirer({ apiKey: KEYS.acquirerApiKey, webhookSecret: KEYS.acquirerWebhookSecret, testApiKey: KEYS.acquirerTestKey });
    const bank = buildBank({ apiKey: KEYS.bankApiKey, webhookSecret: KEYS.bankWebhookSecret, testApiKey: KEYS.bankTestKey });
    sandboxEnv = {
      KOBAN_ACQUIRER_URL: await acquirer.listen({ port: 0, host: '127.0.0.1' }), KOBAN_ACQUIRER_API_KEY: KEYS.acquirerApiKey, KOBAN_ACQUIRER_WEBHOOK_SECRET: KEYS.acquirerWebhookSecret,
      KOBAN_BANK_URL: await bank.listen({ port: 0, host: '127.0.0.1' }), KOBAN_BANK_API_KEY: KEYS.bankApiKey, KOBAN_BANK_WEBHOOK_SECRET: KEYS.bankWebhookSecret,
      KOBAN_PROVIDER_TIMEOUT_MS: '5000', KOBAN_TOPUP_RECONCILE_DELAY_MS: '0',
    };
    closers.push(() => acquirer.close(), () => bank.close());
  }
  const port = options.port ?? await freePort();
  const base = `http://localhost:${port}`;
  const started = await startTestKoban({ env: { KOBAN_PUBLIC_URL: base, KOBAN_OPA_PORT: '0', ...sandboxEnv, ...options.env }, beforeReady: registerWebApps });
  await started.koban.app.listen({ host: '127.0.0.1', port });
  return {
    koban: started.koban, base,
    async close() {
      await started.close();
      for (const close of closers) await close();
    },
  };
}

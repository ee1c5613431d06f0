/**
 * `npm start` runs the sandbox card acquirer and sandbox bank in-process, each on its own port, and points
 * Koban's adapters at them (KOBAN_ACQUIRER_*, KOBAN_BANK_*), with their webhooks aimed at Koban's receivers.
 * Koban still reaches them only over HTTP. main.ts calls this only when the configuration asks for the
 * sandboxes (KOBAN_SANDBOXES: on by default under NODE_ENV=development, refused in production); even then
 * nothing starts in production, when KOBAN_SANDBOXES=false, or when a real acquirer URL is configured.
 */
import { buildAcquirer } from '../../sandbox/acquirer/app.ts';
import { buildBank } from '../../sandbox/bank/app.ts';
import { buildEkyc } from '../../sandbox/ekyc/app.ts';
import type { SandboxApp } from '../../sandbox/shared/server.ts';
import { defaultPublicUrl } from '../platform/config.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface DevSandboxes {
  /** The environment Koban's configuration should be read from (the input plus the adapters' settings). */
  readonly env: Env;
  /** Banner lines saying where the sandboxes are. */
  readonly banner: readonly string[];
  close(): Promise<void>;
}

// Development-only keys: the sandboxes hold no real money and are never started in production.
export const DEV_SANDBOX_KEYS = {
  acquirerApiKey: 'sk_dev_acquirer_koban_000001',
  acquirerWebhookSecret: 'whsec_dev_acquirer_koban_01',
  acquirerTestKey: 'test_dev_acquirer_koban_001',
  bankApiKey: 'sk_dev_bank_koban_000000001',
  bankWebhookSecret: 'whsec_dev_bank_koban_000001',
  bankTestKey: 'test_dev_bank_koban_0000001',
  ekycApiKey: 'sk_dev_ekyc_koban_000000001',
  ekycWebhookSecret: 'whsec_dev_ekyc_koban_000001',
} as const;

function port(env: Env, name: string, fallback: number): number {
  const value = env[name];
  const parsed = value === undefined || value === '' ? fallback : Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`${name} must be a port number from 0 to 65535`);
  return parsed;
}

export async function startDevSandboxes(env: Env): Promise<DevSandboxes> {
  const off = env.NODE_ENV === 'production' || env.KOBAN_SANDBOXES === 'false' || (env.KOBAN_ACQUIRER_URL ?? '') !== '';
  if (off) return { env, banner: [], close: async () => undefined };
  const host = env.KOBAN_SANDBOX_HOST ?? '127.0.0.1';
  const kobanHost = env.KOBAN_HOST ?? '127.0.0.1';
  // The same default as loadConfig: where Koban's own receivers will listen.
  const kobanUrl = env.KOBAN_PUBLIC_URL ?? defaultPublicUrl(kobanHost, env.KOBAN_PORT ?? '3000');
  const k = DEV_SANDBOX_KEYS;
  const acquirer = buildAcquirer({ apiKey: k.acquirerApiKey, webhookSecret: k.acquirerWebhookSecret, testApiKey: k.acquirerTestKey, webhookUrl: new URL('/v1/webhooks/acquirer', kobanUrl).toString() });
  const bank = buildBank({ apiKey: k.bankApiKey, webhookSecret: k.bankWebhookSecret, testApiKey: k.bankTestKey, webhookUrl: new URL('/v1/webhooks/bank', kobanUrl).toString() });
  // The eKYC provider decides after two seconds, as a real one answers later (issue 19). Any free port unless
  // KOBAN_SANDBOX_EKYC_PORT says otherwise: Koban is given its URL, nobody types it.
  const ekyc = buildEkyc({ apiKey: k.ekycApiKey, webhookSecret: k.ekycWebhookSecret, webhookUrl: new URL('/v1/webhooks/ekyc', kobanUrl).toString(), decisionDelayMs: 2_000 });
  const started: SandboxApp[] = [];
  try {
    const acquirerUrl = await acquirer.listen({ host, port: port(env, 'KOBAN_SANDBOX_ACQUIRER_PORT', 4010) });
    started.push(acquirer);
    const bankUrl = await bank.listen({ host, port: port(env, 'KOBAN_SANDBOX_BANK_PORT', 4020) });
    started.push(bank);
    const ekycUrl = await ekyc.listen({ host, port: port(env, 'KOBAN_SANDBOX_EKYC_PORT', 0) });
    started.push(ekyc);
    const useBank = (env.KOBAN_BANK_URL ?? '') === '';
    return {
      env: {
        ...env,
        KOBAN_ACQUIRER_URL: acquirerUrl, KOBAN_ACQUIRER_API_KEY: k.acquirerApiKey, KOBAN_ACQUIRER_WEBHOOK_SECRET: k.acquirerWebhookSecret,
        ...((env.KOBAN_EKYC_URL ?? '') === '' ? { KOBAN_EKYC_URL: ekycUrl, KOBAN_EKYC_API_KEY: k.ekycApiKey, KOBAN_EKYC_WEBHOOK_SECRET: k.ekycWebhookSecret } : {}),
        ...(useBank ? { KOBAN_BANK_URL: bankUrl, KOBAN_BANK_API_KEY: k.bankApiKey, KOBAN_BANK_WEBHOOK_SECRET: k.bankWebhookSecret } : {}),
      },
      banner: [
        `  Sandbox acquirer   ${acquirerUrl}   (test cards: sandbox/acquirer/README.md; 3-D Secure code 123456)`,
        `  Sandbox bank       ${bankUrl}   (the bank's code: curl -H "Authorization: Bearer ${k.bankTestKey}" ${bankUrl}/v1/test/mandates/<mandate id>/otp)`,
        `  Sandbox eKYC       ${ekycUrl}   (document references: sandbox/ekyc/README.md; anything else is approved)`,
      ],
      async close() {
        await Promise.all(started.map((app) => app.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((app) => app.close()));
    throw error;
  }
}

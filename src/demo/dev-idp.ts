/**
 * `npm start` runs the development identity provider (sandbox/idp, on oidc-provider) in-process on its
 * own port and configures it as Koban's `dev` social provider (KOBAN_SOCIAL_DEV_*), so a person can
 * try "sign in with a provider" end to end. Koban still reaches it only over HTTP, through the same
 * openid-client path as a real provider. main.ts calls this only when the configuration asks for it
 * (KOBAN_DEV_IDP: on by default under NODE_ENV=development, refused in production); even then nothing
 * starts in production, when KOBAN_DEV_IDP=false, or when a `dev` provider is already configured. The
 * client secret is random per start.
 */
import { randomBytes } from 'node:crypto';
import { startDevIdp, type DevUser } from '../../sandbox/idp/dev-idp.ts';
import { callbackPath } from '../identity/social-links/social-login.ts';
import { defaultPublicUrl } from '../platform/config.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface DevIdentityProvider {
  /** The environment Koban's configuration should be read from (the input plus KOBAN_SOCIAL_DEV_*). */
  readonly env: Env;
  /** The IdP's issuer URL, or null when it was not started. */
  readonly issuer: string | null;
  readonly banner: readonly string[];
  close(): Promise<void>;
}

export const DEV_IDP_PROVIDER_ID = 'dev';
export const DEV_IDP_CLIENT_ID = 'koban-demo';
export const DEV_IDP_DEFAULT_PORT = 4000;

/** The dev IdP's own demo users (their accounts at the "provider", not at Koban); passwords are public on purpose. */
export const DEV_IDP_USERS: readonly DevUser[] = [
  { sub: 'demo-hanako', email: 'hanako@dev-idp.example', name: 'Hanako (dev IdP)', password: 'hanako-dev-idp' },
  { sub: 'demo-taro', email: 'taro@dev-idp.example', name: 'Taro (dev IdP)', password: 'taro-dev-idp' },
  { sub: 'demo-yuki', email: 'yuki@dev-idp.example', name: 'Yuki (dev IdP)', password: 'yuki-dev-idp' },
];

function portOf(env: Env): number {
  const value = env.KOBAN_DEV_IDP_PORT;
  const parsed = value === undefined || value === '' ? DEV_IDP_DEFAULT_PORT : Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error('KOBAN_DEV_IDP_PORT must be a port number from 0 to 65535');
  return parsed;
}

export async function startDevIdentityProvider(env: Env): Promise<DevIdentityProvider> {
  const configured = (env.KOBAN_SOCIAL_PROVIDERS ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
  const off = env.NODE_ENV === 'production' || env.KOBAN_DEV_IDP === 'false' || configured.includes(DEV_IDP_PROVIDER_ID);
  if (off) return { env, issuer: null, banner: [], close: async () => undefined };
  const kobanHost = env.KOBAN_HOST ?? '127.0.0.1';
  // The same default as loadConfig: the public URL the callback is registered under.
  const kobanUrl = env.KOBAN_PUBLIC_URL ?? defaultPublicUrl(kobanHost, env.KOBAN_PORT ?? '3000');
  const clientSecret = randomBytes(32).toString('base64url');
  // Loopback only: Koban accepts an http issuer solely on a loopback host, outside production.
  const idp = await startDevIdp({
    host: '127.0.0.1', port: portOf(env), signingAlg: 'RS256', users: DEV_IDP_USERS,
    clients: [{ client_id: DEV_IDP_CLIENT_ID, client_secret: clientSecret, redirect_uris: [new URL(callbackPath(DEV_IDP_PROVIDER_ID), kobanUrl).href] }],
  });
  return {
    env: {
      ...env,
      KOBAN_SOCIAL_PROVIDERS: [...configured, DEV_IDP_PROVIDER_ID].join(','),
      KOBAN_SOCIAL_DEV_ISSUER: idp.issuer, KOBAN_SOCIAL_DEV_CLIENT_ID: DEV_IDP_CLIENT_ID, KOBAN_SOCIAL_DEV_CLIENT_SECRET: clientSecret,
    },
    issuer: idp.issuer,
    banner: [`  Dev identity prov. ${idp.issuer}   (sign in with it: ${new URL(`/v1/customer/social/${DEV_IDP_PROVIDER_ID}/start`, kobanUrl).href}; users in src/identity/README.md)`],
    close: () => idp.close(),
  };
}

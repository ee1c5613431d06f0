// Starts the real dev IdP (sandbox/idp) on an ephemeral port and a registry with one provider, "dev",
// pointing at it, so RP tests run the full protocol over HTTP.
import { startDevIdp, type DevIdpSigningAlg, type RunningDevIdp } from '../../../../sandbox/idp/dev-idp.ts';
import { createProviderRegistry, type ProviderRegistry } from '../provider-registry.ts';

export const CLIENT_ID = 'koban-test';
export const CLIENT_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
// Nothing listens here: tests stop at the redirect and hand the URL to finishSocialLogin.
export const REDIRECT_URI = new URL('http://127.0.0.1:9/v1/auth/social/dev/callback');
export const ALICE = { login: 'alice@example.com', password: 'alice-test-password' };
export const BOB = { login: 'line-bob', password: 'bob-test-password' };

export type DevIdpFixture = { idp: RunningDevIdp; registry: ProviderRegistry; close(): Promise<void> };

export async function startDevIdpFixture(signingAlg: DevIdpSigningAlg = 'RS256'): Promise<DevIdpFixture> {
  const idp = await startDevIdp({
    signingAlg,
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI.href] }],
    users: [
      { sub: 'line-alice', email: 'alice@example.com', name: 'Alice', password: ALICE.password },
      { sub: 'line-bob', email: 'bob@example.com', name: 'Bob', password: BOB.password },
    ],
  });
  const registry = createProviderRegistry([
    {
      id: 'dev',
      issuer: new URL(idp.issuer),
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT_URI,
      idTokenSigningAlg: signingAlg,
      allowInsecureHttp: true,
    },
  ]);
  return { idp, registry, close: () => idp.close() };
}

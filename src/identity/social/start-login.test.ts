import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderRegistry, type SocialProvider } from './provider-registry.ts';
import { startSocialLogin } from './start-login.ts';
import { startEvilProvider, type EvilProvider } from './test-support/evil-provider.ts';

const REDIRECT_URI = new URL('http://127.0.0.1:9/v1/auth/social/test/callback');
const STARTS = 32;

let server: EvilProvider;
let provider: SocialProvider;

beforeAll(async () => {
  // Advertises plain as well: what the provider offers must not change what Koban sends.
  server = await startEvilProvider();
  const registry = createProviderRegistry([
    {
      id: 'test',
      issuer: new URL(server.issuer),
      clientId: 'koban-start-test',
      clientSecret: 'start-test-secret-0123456789abcdef',
      redirectUri: REDIRECT_URI,
      allowInsecureHttp: true,
    },
  ]);
  provider = await registry.get('test', Date.now());
});
afterAll(async () => {
  await server?.close();
});

describe('startSocialLogin', () => {
  it('never produces an authorization request without PKCE S256 (PKCE downgrade)', async () => {
    for (let run = 0; run < STARTS; run++) {
      const { authorizationUrl, transaction } = await startSocialLogin(provider, Date.now());
      const params = authorizationUrl.searchParams;
      expect(params.getAll('code_challenge_method')).toEqual(['S256']);
      const expectedChallenge = createHash('sha256').update(transaction.codeVerifier).digest('base64url');
      expect(params.getAll('code_challenge')).toEqual([expectedChallenge]);
      expect(authorizationUrl.href).not.toContain('plain');
    }
  });

  it('asks for the code flow with our redirect URI, openid scope, state and nonce', async () => {
    const { authorizationUrl, transaction } = await startSocialLogin(provider, Date.now());
    const params = authorizationUrl.searchParams;
    expect(`${authorizationUrl.origin}${authorizationUrl.pathname}`).toBe(`${server.issuer}/auth`);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe('koban-start-test');
    expect(params.get('redirect_uri')).toBe(REDIRECT_URI.href);
    expect(params.get('scope')?.split(' ')).toContain('openid');
    expect(params.get('state')).toBe(transaction.state);
    expect(params.get('nonce')).toBe(transaction.nonce);
  });

  it('keeps the PKCE verifier out of the authorization URL', async () => {
    const { authorizationUrl, transaction } = await startSocialLogin(provider, Date.now());
    expect(authorizationUrl.href).not.toContain(transaction.codeVerifier);
  });

  it('uses fresh, unguessable state, nonce and verifier for every login', async () => {
    const seen = new Set<string>();
    for (let run = 0; run < STARTS; run++) {
      const { transaction } = await startSocialLogin(provider, Date.now());
      for (const secret of [transaction.state, transaction.nonce, transaction.codeVerifier]) {
        // 43 base64url characters = 256 bits from the CSPRNG.
        expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
        seen.add(secret);
      }
    }
    expect(seen.size).toBe(STARTS * 3);
  });

  it('records the provider and start time in the transaction', async () => {
    const nowMs = Date.now();
    const { transaction } = await startSocialLogin(provider, nowMs);
    expect(transaction).toMatchObject({ providerId: 'test', createdAtMs: nowMs });
    expect(Object.isFrozen(transaction)).toBe(true);
  });
});

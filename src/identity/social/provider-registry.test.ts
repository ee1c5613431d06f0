import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocialLoginError } from './errors.ts';
import type { IdTokenSigningAlg, SocialProviderConfig } from './provider-config.ts';
import { createProviderRegistry, DISCOVERY_TTL_MS } from './provider-registry.ts';
import { startEvilProvider, type EvilProvider } from './test-support/evil-provider.ts';

let honest: EvilProvider;
let lyingIssuer: EvilProvider;
let noSafeAlg: EvilProvider;

beforeAll(async () => {
  honest = await startEvilProvider();
  lyingIssuer = await startEvilProvider({ discoveryIssuer: 'https://accounts.google.com' });
  noSafeAlg = await startEvilProvider({ idTokenSigningAlgs: ['HS256', 'none'] });
});
afterAll(async () => {
  await Promise.all([honest?.close(), lyingIssuer?.close(), noSafeAlg?.close()]);
});

function config(overrides: Partial<SocialProviderConfig> = {}): SocialProviderConfig {
  return {
    id: 'test',
    issuer: new URL(honest.issuer),
    clientId: 'koban-registry-test',
    clientSecret: 'registry-test-secret-0123456789ab',
    redirectUri: new URL('http://127.0.0.1:9/v1/auth/social/test/callback'),
    allowInsecureHttp: true,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<SocialLoginError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SocialLoginError);
  return error as SocialLoginError;
}

describe('provider registry: discovery', () => {
  it('discovers a provider and caches it', async () => {
    const registry = createProviderRegistry([config()]);
    const nowMs = Date.now();
    const first = await registry.get('test', nowMs);
    expect(first).toMatchObject({ id: 'test', issuer: honest.issuer, idTokenSigningAlg: 'RS256' });
    expect(await registry.get('test', nowMs + 1000)).toBe(first);
    expect(await registry.get('test', nowMs + DISCOVERY_TTL_MS)).not.toBe(first);
  });

  it('rejects an unknown provider id', async () => {
    const registry = createProviderRegistry([config()]);
    expect((await rejection(registry.get('facebook', Date.now()))).code).toBe('provider_unknown');
  });

  it('refuses a provider whose discovery document names another issuer (metadata spoofing)', async () => {
    const registry = createProviderRegistry([config({ issuer: new URL(lyingIssuer.issuer) })]);
    const error = await rejection(registry.get('test', Date.now()));
    expect(error.code).toBe('provider_error');
    expect(error.cause).toBeDefined();
  });

  it('refuses a provider that does not offer the pinned ID token alg', async () => {
    const registry = createProviderRegistry([config({ issuer: new URL(noSafeAlg.issuer) })]);
    expect((await rejection(registry.get('test', Date.now()))).code).toBe('provider_error');
  });
});

describe('provider registry: configuration', () => {
  it.each(['HS256', 'none', 'PS512'])('refuses to pin the ID token alg %s', (alg) => {
    const idTokenSigningAlg = alg as unknown as IdTokenSigningAlg;
    expect(() => createProviderRegistry([config({ idTokenSigningAlg })])).toThrow(/alg .* not allowed/);
  });

  it('refuses plain http for a non-loopback issuer even with allowInsecureHttp', () => {
    expect(() => createProviderRegistry([config({ issuer: new URL('http://idp.example.com') })])).toThrow(/http only/);
  });

  it('refuses plain http on loopback unless allowInsecureHttp is set', () => {
    expect(() => createProviderRegistry([config({ allowInsecureHttp: false })])).toThrow(/http only/);
  });

  it('refuses a metadata URL where the issuer belongs (it would skip the issuer check)', () => {
    const issuer = new URL(`${honest.issuer}/.well-known/openid-configuration`);
    expect(() => createProviderRegistry([config({ issuer })])).toThrow(/not its metadata URL/);
  });

  it('refuses two providers that share a redirect URI (mix-up defence)', () => {
    expect(() => createProviderRegistry([config(), config({ id: 'other' })])).toThrow(/own redirect URI/);
  });

  it('refuses scopes without openid', () => {
    expect(() => createProviderRegistry([config({ scopes: ['email'] })])).toThrow(/openid/);
  });
});

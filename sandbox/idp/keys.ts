import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { Jwk } from 'oidc-provider';

export type DevIdpSigningAlg = 'RS256' | 'ES256';

// The dev IdP mints a fresh signing key at every start: nothing signed by a previous run (or by a copy of
// this repository) verifies against the JWKS it publishes, and there is no key file to leak.
export async function generateSigningJwk(alg: DevIdpSigningAlg): Promise<Jwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kty: String(jwk.kty), kid, alg, use: 'sig' };
}

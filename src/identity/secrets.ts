/**
 * Keys derived from the one identity secret (HKDF, one label per use, so a key serves one purpose),
 * random tokens and the hashes Koban stores instead of secrets.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { assert } from '../platform/assert.ts';

export type KeyPurpose = 'one_time_codes' | 'csrf' | 'totp_seeds' | 'recovery_codes' | 'decoy_subjects';

export interface IdentitySecrets {
  /** HMAC-SHA256 under the key for `purpose`. */
  mac(purpose: KeyPurpose, ...parts: string[]): Buffer;
  encrypt(purpose: KeyPurpose, plaintext: string): Buffer;
  decrypt(purpose: KeyPurpose, ciphertext: Buffer): string;
}

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

export function createSecrets(secret: string): IdentitySecrets {
  assert(secret.length >= 32, 'identity secret too short');
  const keys = new Map<KeyPurpose, Buffer>();
  const key = (purpose: KeyPurpose): Buffer => {
    let derived = keys.get(purpose);
    if (derived === undefined) {
      derived = Buffer.from(hkdfSync('sha256', secret, 'koban-identity', purpose, 32));
      keys.set(purpose, derived);
    }
    return derived;
  };
  return {
    mac(purpose, ...parts) {
      const hmac = createHmac('sha256', key(purpose));
      // Length-prefixed, so ('ab','c') and ('a','bc') differ.
      for (const part of parts) hmac.update(`${part.length}:${part};`);
      return hmac.digest();
    },
    encrypt(purpose, plaintext) {
      const iv = randomBytes(GCM_IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key(purpose), iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decrypt(purpose, ciphertext) {
      const decipher = createDecipheriv('aes-256-gcm', key(purpose), ciphertext.subarray(0, GCM_IV_BYTES));
      decipher.setAuthTag(ciphertext.subarray(GCM_IV_BYTES, GCM_IV_BYTES + GCM_TAG_BYTES));
      return Buffer.concat([decipher.update(ciphertext.subarray(GCM_IV_BYTES + GCM_TAG_BYTES)), decipher.final()]).toString('utf8');
    },
  };
}

/** 256 random bits, base64url: session tokens, device ids, step-up grants, social bindings. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A uniformly random string of `digits` decimal digits (CSPRNG). */
export function randomDigits(digits: number): string {
  let out = '';
  for (let i = 0; i < digits; i++) out += String(randomInt(0, 10));
  return out;
}

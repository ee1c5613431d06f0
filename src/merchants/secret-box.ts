/**
 * Secrets at rest (merchant API secrets, webhook signing secrets, payout account numbers): AES-256-GCM
 * under a key derived from the key-encryption key KOBAN_SECRET_KEY. Each box is bound to what it
 * protects by the associated data (e.g. `merchant-api-secret:<apiKey>`), so a sealed value copied onto
 * another row does not open there. A database dump alone reveals none of them.
 *
 * Box layout: version (1 byte) ‖ key id (4 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
 * The key id tells "sealed under another key" (a misconfigured KOBAN_SECRET_KEY) apart from tampering.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { assert } from '../platform/assert.ts';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 4;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
/** Nothing Koban seals is longer; a limit keeps a corrupt row from allocating without bound. */
export const SEALED_PLAINTEXT_MAX_BYTES = 4096;

export interface SecretBox {
  seal(plaintext: string, context: string): Buffer;
  /** Throws when the box was sealed under another key, for another context, or was altered. */
  open(sealed: Uint8Array, context: string): string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/** Derives a purpose-bound 32-byte key from the key-encryption key (HKDF-SHA256). */
export function deriveKey(kek: Buffer, purpose: string): Buffer {
  assert(kek.length === 32, 'the key-encryption key is 32 bytes');
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), `koban ${purpose}`, 32));
}

export function createSecretBox(kek: Buffer): SecretBox {
  const key = deriveKey(kek, 'secret-box v1');
  const keyId = createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES);
  return {
    seal(plaintext, context) {
      const data = Buffer.from(plaintext, 'utf8');
      assert(data.length <= SEALED_PLAINTEXT_MAX_BYTES, 'sealed secrets are small');
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), keyId, nonce, ciphertext, cipher.getAuthTag()]);
    },
    open(sealed, context) {
      const box = Buffer.from(sealed);
      if (box.length < HEADER_BYTES + TAG_BYTES || box.length > HEADER_BYTES + TAG_BYTES + SEALED_PLAINTEXT_MAX_BYTES) throw new SecretBoxError('sealed value has an impossible length');
      if (box[0] !== VERSION) throw new SecretBoxError(`unknown sealed value version ${box[0]}`);
      if (!box.subarray(1, 1 + KEY_ID_BYTES).equals(keyId)) throw new SecretBoxError('sealed under another key: check KOBAN_SECRET_KEY');
      const nonce = box.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(box.subarray(HEADER_BYTES, box.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new SecretBoxError('sealed value does not open (altered, or sealed for another row)', { cause });
      }
    },
  };
}

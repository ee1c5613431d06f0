/**
 * Operator credentials: argon2id passwords (@node-rs/argon2 defaults: m=19 MiB, t=2, p=1), TOTP seeds
 * sealed with AES-256-GCM under a key derived from KOBAN_OPERATOR_SECRET, and TOTP verification with a
 * small clock tolerance. Replay protection is the caller's atomic update of the last accepted step.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import { assert } from '../../platform/assert.ts';

export const PASSWORD_LENGTH = { min: 12, max: 128 } as const;
const SEAL_VERSION = 'v1';
// Computed once at start: unknown e-mails are checked against it so they cost the same time.
let dummyHash: Promise<string> | null = null;

export function hashPassword(password: string): Promise<string> {
  assert(password.length >= PASSWORD_LENGTH.min && password.length <= PASSWORD_LENGTH.max, 'password length checked by the caller');
  return hash(password.normalize('NFKC'));
}

/** Bounded before hashing: a megabyte "password" must not cost a megabyte of argon2. */
export async function checkPassword(storedHash: string | null, password: string): Promise<boolean> {
  const bounded = password.length <= PASSWORD_LENGTH.max ? password.normalize('NFKC') : '';
  if (storedHash === null) {
    dummyHash ??= hash('koban-dummy-password-for-timing');
    await verify(await dummyHash, bounded === '' ? 'x' : bounded);
    return false;
  }
  if (bounded === '') return false;
  return verify(storedHash, bounded);
}

export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(email: string, secret: string): string {
  return generateURI({ issuer: 'Koban Operations', label: email, secret });
}

/** The accepted time step, or null. `afterStep` rejects codes at or before the last one used. */
export async function checkTotp(secret: string, code: string, afterStep: number, nowMs: number = Date.now()): Promise<number | null> {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const epoch = Math.floor(nowMs / 1000);
  // afterTimeStep beyond the verification window throws in otplib: such a step can never be beaten.
  const currentStep = Math.floor(epoch / 30);
  if (afterStep > currentStep + 1) return null;
  const result = await verifyTotp({ secret, token: code, epoch, epochTolerance: 30, ...(afterStep > 0 ? { afterTimeStep: afterStep } : {}) });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

export function sealSecret(keyMaterial: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(keyMaterial), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [SEAL_VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function openSecret(keyMaterial: string, sealed: string): string {
  const [version, iv, body, tag] = sealed.split('.');
  assert(version === SEAL_VERSION && iv !== undefined && body !== undefined && tag !== undefined, 'a sealed secret has four parts');
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(keyMaterial), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

function deriveKey(keyMaterial: string): Buffer {
  return createHash('sha256').update(`koban-operator-totp-seed-key\n${keyMaterial}`).digest();
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

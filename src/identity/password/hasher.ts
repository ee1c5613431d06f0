/**
 * argon2id with the OWASP minimum (m=19456 KiB, t=2, p=1), behind the semaphore. `verifyOrDummy`
 * always does one argon2 verification, against a fixed dummy hash when there is no account, so an
 * unknown identifier costs the same time as a wrong password (AUTH-06).
 */
import { hash, verify } from '@node-rs/argon2';
import { createSemaphore, type Semaphore } from './semaphore.ts';

// @node-rs/argon2 declares Algorithm as a const enum, which type stripping cannot inline: 2 = Argon2id.
const ARGON2ID = 2;
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** The PHC string prefix every hash made now starts with; an older one gets rehashed at sign-in (AUTH-04). */
const CURRENT_PARAMS = `$argon2id$v=19$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`;

/** Whether a stored hash was made with other parameters (or another variant) than today's. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(CURRENT_PARAMS);
}

export interface PasswordHasher {
  hash(secret: string): Promise<string>;
  /** Verifies against `stored`, or against a dummy hash (always false) when `stored` is null. */
  verifyOrDummy(stored: string | null, secret: string): Promise<boolean>;
  readonly semaphore: Semaphore;
}

export function createPasswordHasher(concurrency: number, queueMax: number): PasswordHasher {
  const semaphore = createSemaphore(concurrency, queueMax);
  // Computed once, lazily; same parameters as real hashes so the timing matches.
  let dummy: Promise<string> | null = null;
  const dummyHash = () => (dummy ??= hash('koban-dummy-password-for-timing', ARGON2_OPTIONS as never));
  return {
    semaphore,
    hash: (secret) => semaphore.run(() => hash(secret, ARGON2_OPTIONS as never)),
    async verifyOrDummy(stored, secret) {
      const target = stored ?? (await dummyHash());
      const ok = await semaphore.run(() => verify(target, secret).catch(() => false));
      return stored !== null && ok;
    },
  };
}

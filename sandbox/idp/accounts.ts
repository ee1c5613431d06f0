import assert from 'node:assert/strict';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Account } from 'oidc-provider';

export type DevUser = { sub: string; email: string; name: string; password: string };

type StoredUser = { sub: string; email: string; name: string; salt: Buffer; hash: Buffer };

export type AccountStore = {
  verifyPassword(login: string, password: string): Promise<string | undefined>;
  findAccount(sub: string): Account | undefined;
};

export const USERS_MAX = 100;
export const LOGIN_LENGTH_MAX = 254;
// Cap before hashing so a megabyte "password" cannot turn the login form into a CPU sink.
export const PASSWORD_LENGTH_MAX = 128;
const HASH_BYTES = 32;
// Small scrypt cost: this is a development stand-in, not where Koban's own passwords live.
const SCRYPT_OPTIONS = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptHash(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, SCRYPT_OPTIONS, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

async function storeUser(user: DevUser): Promise<StoredUser> {
  assert(user.sub.length > 0 && user.sub.length <= 255, 'sub must be 1..255 characters');
  assert(user.password.length > 0 && user.password.length <= PASSWORD_LENGTH_MAX, 'bad demo password length');
  const salt = randomBytes(16);
  return { sub: user.sub, email: user.email, name: user.name, salt, hash: await scryptHash(user.password, salt) };
}

// Users log in with their e-mail address or their sub; both are unique in the demo data (asserted).
function indexUsers(users: readonly StoredUser[]): Map<string, StoredUser> {
  const byLogin = new Map<string, StoredUser>();
  for (const user of users) {
    for (const login of new Set([user.sub, user.email.toLowerCase()])) {
      assert(!byLogin.has(login), `duplicate demo login ${login}`);
      byLogin.set(login, user);
    }
  }
  return byLogin;
}

function toAccount(user: StoredUser): Account {
  return {
    accountId: user.sub,
    // The dev IdP asserts e-mail ownership for its demo users; Koban must still never link by e-mail (LINK-02).
    claims: () => ({ sub: user.sub, email: user.email, email_verified: true, name: user.name }),
  };
}

export async function createAccountStore(users: readonly DevUser[]): Promise<AccountStore> {
  assert(users.length > 0 && users.length <= USERS_MAX, `between 1 and ${USERS_MAX} demo users`);
  const stored = await Promise.all(users.map(storeUser));
  const byLogin = indexUsers(stored);
  const bySub = new Map(stored.map((user) => [user.sub, user]));
  // Unknown logins are checked against this throwaway user so both paths cost one scrypt.
  const decoy = await storeUser({ sub: 'decoy', email: '', name: '', password: randomBytes(16).toString('hex') });

  return {
    async verifyPassword(login, password) {
      if (login.length > LOGIN_LENGTH_MAX || password.length > PASSWORD_LENGTH_MAX) return undefined;
      const user = byLogin.get(login.trim().toLowerCase()) ?? byLogin.get(login.trim());
      const target = user ?? decoy;
      const candidate = await scryptHash(password, target.salt);
      const matches = timingSafeEqual(candidate, target.hash);
      return matches && user !== undefined ? user.sub : undefined;
    },
    findAccount(sub) {
      const user = bySub.get(sub);
      return user === undefined ? undefined : toAccount(user);
    },
  };
}

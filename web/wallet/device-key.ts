/**
 * The wallet's device key (issue 13, src/identity/sessions/device-proof.ts): a **non-extractable** ECDSA
 * P-256 key pair made with WebCrypto and kept in IndexedDB (the private key cannot be read out, not even by
 * this page's own script: malware that copies the session cookie does not get it). Every API request carries a
 * `DPoP` proof signed with it (method, URL, time, random id); the session is bound to the key at sign-in, so
 * a copied cookie is refused anywhere else.
 */
import { exportJWK, SignJWT, type JWK } from 'jose';

const DB_NAME = 'koban-device';
const STORE = 'keys';
const KEY_ID = 'device';

interface DeviceKey { privateKey: CryptoKey; publicJwk: JWK }

function openStore(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB unavailable'));
  });
}

function transact<T>(db: IDBDatabase, mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = run(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

async function makePair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** The stored pair, or a new one stored; without IndexedDB (some private modes) a pair for this page only. */
async function loadOrCreatePair(): Promise<CryptoKeyPair> {
  let db: IDBDatabase;
  try {
    db = await openStore();
  } catch {
    return makePair();
  }
  const read = () => transact<CryptoKeyPair | undefined>(db, 'readonly', (store) => store.get(KEY_ID) as IDBRequest<CryptoKeyPair | undefined>);
  const stored = await read();
  if (stored !== undefined) return stored;
  const pair = await makePair();
  try {
    // `add`, never `put`: another tab that made its pair first wins, and both then sign with that one.
    await transact(db, 'readwrite', (store) => store.add(pair, KEY_ID));
    return pair;
  } catch {
    return (await read()) ?? pair;
  }
}

let deviceKey: Promise<DeviceKey> | null = null;

function key(): Promise<DeviceKey> {
  deviceKey ??= loadOrCreatePair().then(async (pair) => ({ privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) }));
  return deviceKey;
}

/** The `DPoP` header value for one request (the URL without its query, as the server compares it). */
export async function deviceProof(method: string, path: string): Promise<string> {
  const { privateKey, publicJwk } = await key();
  const url = new URL(path, window.location.origin);
  return new SignJWT({ htm: method, htu: `${url.origin}${url.pathname}`, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: publicJwk })
    .setIssuedAt()
    .sign(privateKey);
}

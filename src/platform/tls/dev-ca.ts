// A local development CA and a server certificate for localhost / 127.0.0.1 / ::1, created once and then
// reused from a folder (default `.koban/tls/`, git-ignored), so Koban can serve HTTPS to clients such as
// the PayPay SDK, which only speaks HTTPS.
//
// How a client trusts it (the CA, never the leaf, so leaf renewals need no client change):
//   - any Node process, without code changes:  NODE_EXTRA_CA_CERTS=.koban/tls/ca.pem node app.js
//     (read once at process start; setting it later from inside the process has no effect)
//   - one connection:                          https.request(url, { ca: readFileSync('.koban/tls/ca.pem') })
//   - curl:                                    curl --cacert .koban/tls/ca.pem https://127.0.0.1:PORT/
// The CA is name-constrained to localhost and loopback addresses, so a leaked dev CA key cannot be used
// to impersonate any real host to a machine that trusts it.
//
// Keys are generated with node:crypto and written 0600 by this process; the `openssl` CLI (Debian's
// `openssl` package) only builds and signs the certificates, since Node has no X.509 builder. It is
// called with execFile and fixed arguments: no shell, nothing interpolated into a command line.

import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

export const DEV_TLS_DEFAULT_DIR = '.koban/tls';
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 730;
const LEAF_VALIDITY_DAYS = 397;
// Renew well before expiry so a long-running dev server never crosses it.
const RENEW_BEFORE_MS = 30 * DAY_MS;
const OPENSSL_TIMEOUT_MS = 15_000;
const OPENSSL_MAX_OUTPUT_BYTES = 1024 * 1024;

export const DEV_TLS_HOSTS = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] } as const;

// Fixed text; the SAN list and the name constraints must move together.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Koban development CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:localhost, permitted;IP:127.0.0.0/255.0.0.0, permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
`;

export type DevTlsPaths = {
  dir: string;
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
};

export type DevTlsOptions = { dir?: string; now?: Date };

/** Returns the paths of a valid dev CA and server certificate, creating or renewing what is needed. */
export async function ensureDevTls(options: DevTlsOptions = {}): Promise<DevTlsPaths> {
  const paths = devTlsPaths(options.dir ?? DEV_TLS_DEFAULT_DIR);
  const now = options.now ?? new Date();
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const caUsable = await isCaUsable(paths, now);
  if (caUsable && (await isLeafUsable(paths, now))) return paths;

  await assertOpensslAvailable();
  const staging = await mkdtemp(join(paths.dir, '.staging-'));
  try {
    if (!caUsable) await createCa(paths, staging);
    await createLeaf(paths, staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return paths;
}

/** PEM contents for `https.createServer`, fastify's `https` option or `buildApp({ https })`. */
export async function readDevTlsServerOptions(paths: DevTlsPaths): Promise<{ key: Buffer; cert: Buffer }> {
  const [key, cert] = await Promise.all([readFile(paths.keyPath), readFile(paths.certPath)]);
  return { key, cert };
}

export function devTlsPaths(dir: string): DevTlsPaths {
  const absolute = resolve(dir);
  return {
    dir: absolute,
    caCertPath: join(absolute, 'ca.pem'),
    caKeyPath: join(absolute, 'ca-key.pem'),
    certPath: join(absolute, 'cert.pem'),
    keyPath: join(absolute, 'key.pem'),
  };
}

async function isCaUsable(paths: DevTlsPaths, now: Date): Promise<boolean> {
  const pair = await readPair(paths.caCertPath, paths.caKeyPath);
  if (pair === null) return false;
  const selfSigned = pair.cert.checkIssued(pair.cert) && pair.cert.verify(pair.cert.publicKey);
  return pair.cert.ca && selfSigned && !expiresSoon(pair.cert, now) && pair.keyMatches;
}

async function isLeafUsable(paths: DevTlsPaths, now: Date): Promise<boolean> {
  const pair = await readPair(paths.certPath, paths.keyPath);
  const ca = await readCert(paths.caCertPath);
  if (pair === null || ca === null) return false;
  const leaf = pair.cert;
  const issuedByCa = leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  return issuedByCa && pair.keyMatches && !expiresSoon(leaf, now) && coversDevHosts(leaf);
}

function coversDevHosts(cert: X509Certificate): boolean {
  const dnsOk = DEV_TLS_HOSTS.dnsNames.every((name) => cert.checkHost(name) === name);
  const ipOk = DEV_TLS_HOSTS.ipAddresses.every((ip) => cert.checkIP(ip) === ip);
  return dnsOk && ipOk;
}

function expiresSoon(cert: X509Certificate, now: Date): boolean {
  return cert.validToDate.getTime() - now.getTime() < RENEW_BEFORE_MS || cert.validFromDate > now;
}

// Null when either file is missing or unreadable: the caller then regenerates rather than failing.
async function readPair(certPath: string, keyPath: string): Promise<{ cert: X509Certificate; keyMatches: boolean } | null> {
  const cert = await readCert(certPath);
  if (cert === null) return null;
  try {
    const key = createPrivateKey(await readFile(keyPath));
    return { cert, keyMatches: cert.checkPrivateKey(key) };
  } catch {
    return null;
  }
}

async function readCert(path: string): Promise<X509Certificate | null> {
  try {
    return new X509Certificate(await readFile(path));
  } catch {
    return null;
  }
}

async function createCa(paths: DevTlsPaths, staging: string): Promise<void> {
  const config = await writeStagingConfig(staging);
  const keyPath = await writeNewPrivateKey(staging, 'ca-key.pem');
  const certPath = join(staging, 'ca.pem');
  await openssl([
    'req', '-new', '-x509', '-config', config, '-extensions', 'v3_ca',
    '-key', keyPath, '-subj', '/CN=Koban development CA', '-sha256',
    '-days', String(CA_VALIDITY_DAYS), '-set_serial', randomSerial(), '-out', certPath,
  ]);
  // Key before certificate: a reader never sees a new CA certificate next to the old key.
  await rename(keyPath, paths.caKeyPath);
  await rename(certPath, paths.caCertPath);
}

async function createLeaf(paths: DevTlsPaths, staging: string): Promise<void> {
  const config = await writeStagingConfig(staging);
  const keyPath = await writeNewPrivateKey(staging, 'key.pem');
  const csrPath = join(staging, 'server.csr');
  const certPath = join(staging, 'cert.pem');
  await openssl(['req', '-new', '-config', config, '-key', keyPath, '-subj', '/CN=localhost', '-out', csrPath]);
  await openssl([
    'x509', '-req', '-in', csrPath, '-CA', paths.caCertPath, '-CAkey', paths.caKeyPath,
    '-extfile', config, '-extensions', 'v3_leaf', '-sha256',
    '-days', String(LEAF_VALIDITY_DAYS), '-set_serial', randomSerial(), '-out', certPath,
  ]);
  await rename(keyPath, paths.keyPath);
  await rename(certPath, paths.certPath);
}

async function writeStagingConfig(staging: string): Promise<string> {
  const path = join(staging, 'openssl.cnf');
  await writeFile(path, OPENSSL_CONFIG, { mode: 0o600 });
  return path;
}

// P-256: supported by every TLS client we care about, and fast to generate.
async function writeNewPrivateKey(staging: string, name: string): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const path = join(staging, name);
  await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600); // the creation mode is filtered by umask; make the intent explicit
  return path;
}

// RFC 5280: positive, at most 20 octets; browsers reject reused serials from one issuer.
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

async function openssl(args: string[]): Promise<void> {
  await execFileAsync('openssl', args, { timeout: OPENSSL_TIMEOUT_MS, maxBuffer: OPENSSL_MAX_OUTPUT_BYTES });
}

async function assertOpensslAvailable(): Promise<void> {
  try {
    await openssl(['version']);
  } catch (cause) {
    throw new Error('the `openssl` CLI is needed to create the dev TLS certificates (apt-get install openssl)', {
      cause,
    });
  }
}

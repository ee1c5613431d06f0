import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, get } from 'node:https';
import type { ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDevTls, readDevTlsServerOptions } from './dev-ca.ts';

const execFileAsync = promisify(execFile);
let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'koban-dev-tls-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Starts an HTTPS server on loopback, makes one GET and returns the body or the TLS error code.
async function fetchOnce(server: ServerOptions, request: { host: string; servername?: string; ca?: string }) {
  const httpsServer = createServer(server, (_req, res) => res.end('hello over tls'));
  await new Promise<void>((done) => httpsServer.listen(0, '127.0.0.1', done));
  const { port } = httpsServer.address() as AddressInfo;
  try {
    return await new Promise<{ body?: string; error?: string; message?: string }>((done) => {
      const options = { host: request.host, port, path: '/', servername: request.servername, ca: request.ca, agent: false };
      const req = get(options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => done({ body }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code, message: error.message }));
    });
  } finally {
    httpsServer.close();
  }
}

describe('ensureDevTls', () => {
  it('creates a CA and server certificate, private keys readable by the owner only', async () => {
    const paths = await ensureDevTls({ dir });
    for (const keyPath of [paths.keyPath, paths.caKeyPath]) {
      expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    }
    const leaf = new X509Certificate(await readFile(paths.certPath));
    const ca = new X509Certificate(await readFile(paths.caCertPath));
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect([leaf.checkHost('localhost'), leaf.checkIP('127.0.0.1'), leaf.checkIP('::1')]).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
    ]);
  });

  it('reuses the existing files on the next call', async () => {
    const first = await ensureDevTls({ dir });
    const before = await readFile(first.certPath, 'utf8');
    const second = await ensureDevTls({ dir });
    expect(second).toEqual(first);
    expect(await readFile(second.certPath, 'utf8')).toBe(before);
  });

  it('renews only the server certificate when it is damaged, keeping the CA clients already trust', async () => {
    const paths = await ensureDevTls({ dir });
    const caBefore = await readFile(paths.caCertPath, 'utf8');
    await writeFile(paths.certPath, 'not a certificate');
    await ensureDevTls({ dir });
    expect(await readFile(paths.caCertPath, 'utf8')).toBe(caBefore);
    expect(new X509Certificate(await readFile(paths.certPath)).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('renews the server certificate when it is about to expire', async () => {
    const paths = await ensureDevTls({ dir });
    const before = await readFile(paths.certPath, 'utf8');
    await ensureDevTls({ dir, now: new Date(Date.now() + 380 * 24 * 60 * 60 * 1000) });
    expect(await readFile(paths.certPath, 'utf8')).not.toBe(before);
  });

  it('serves TLS that validates for 127.0.0.1 and localhost against the dev CA', async () => {
    const paths = await ensureDevTls({ dir });
    const server = await readDevTlsServerOptions(paths);
    const ca = await readFile(paths.caCertPath, 'utf8');
    expect(await fetchOnce(server, { host: '127.0.0.1', ca })).toEqual({ body: 'hello over tls' });
    expect(await fetchOnce(server, { host: '127.0.0.1', servername: 'localhost', ca })).toEqual({ body: 'hello over tls' });
  });

  it('is not trusted by a client that has not been given the CA (no silent bypass)', async () => {
    const paths = await ensureDevTls({ dir });
    const result = await fetchOnce(await readDevTlsServerOptions(paths), { host: '127.0.0.1' });
    expect(result.error).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('cannot vouch for a real host even if its key leaks (name constraints)', async () => {
    const paths = await ensureDevTls({ dir });
    const rogue = await signRogueLeaf(paths.caCertPath, paths.caKeyPath, 'bank.example.com');
    const ca = await readFile(paths.caCertPath, 'utf8');
    const result = await fetchOnce(rogue, { host: '127.0.0.1', servername: 'bank.example.com', ca });
    // Node has no symbolic code for OpenSSL's X509_V_ERR_PERMITTED_VIOLATION; the message names it.
    expect(result.body).toBeUndefined();
    expect(result.message).toBe('permitted subtree violation');
  });
});

// What an attacker holding the dev CA key would do: sign a certificate for a host outside localhost.
async function signRogueLeaf(caCertPath: string, caKeyPath: string, host: string): Promise<ServerOptions> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyPath = join(dir, 'rogue-key.pem');
  const extPath = join(dir, 'rogue.cnf');
  await writeFile(keyPath, key, { mode: 0o600 });
  await writeFile(extPath, `[ext]\nsubjectAltName = DNS:${host}\nextendedKeyUsage = serverAuth\n`);
  const csr = join(dir, 'rogue.csr');
  const certPath = join(dir, 'rogue.pem');
  await execFileAsync('openssl', ['req', '-new', '-key', keyPath, '-subj', `/CN=${host}`, '-out', csr]);
  await execFileAsync('openssl', [
    'x509', '-req', '-in', csr, '-CA', caCertPath, '-CAkey', caKeyPath,
    '-extfile', extPath, '-extensions', 'ext', '-days', '1', '-set_serial', '0x0badc0de', '-out', certPath,
  ]);
  return { key, cert: await readFile(certPath, 'utf8') };
}

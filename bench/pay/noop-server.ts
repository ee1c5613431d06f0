/**
 * Ceiling (b) of `npm run bench:pay`: Koban's own OPA server layer (src/merchants/opa/server.ts: HTTPS with
 * the dev CA, raw body, OPA-Auth HMAC over it, strict JSON, the resultInfo envelope) in a process of its own,
 * with one signed route that does nothing. Nonces are kept in memory (the design the payment pipeline
 * aims at), so this is the HTTP + authentication cost of a request and no more.
 * Usage (by bench/pay.ts): node noop-server.ts <port> <tlsDir> <apiKey> <apiSecret> <merchantId>
 */
import { createOpaServer } from '../../src/merchants/opa/server.ts';
import { MemoryNonceStore } from '../../src/merchants/opa/nonce-store.ts';
import { opaReply } from '../../src/merchants/opa/result-info.ts';
import { devTlsPaths, readDevTlsServerOptions } from '../../src/platform/tls/dev-ca.ts';

const NONCES_MAX = 5_000_000;
const [port, tlsDir, apiKey, apiSecret, merchantId] = process.argv.slice(2);
if (port === undefined || tlsDir === undefined || apiKey === undefined || apiSecret === undefined || merchantId === undefined) {
  throw new Error('usage: noop-server.ts <port> <tlsDir> <apiKey> <apiSecret> <merchantId>');
}
const credential = { credentialId: 'bench-noop', merchantId, apiKey, secret: apiSecret, ipAllowList: [], rateLimit: null, liveMerchantId: null };
const server = createOpaServer({
  logLevel: 'warn',
  https: await readDevTlsServerOptions(devTlsPaths(tlsDir)),
  credentials: { lookup: async (key) => (key === apiKey ? credential : null) },
  nonceStore: new MemoryNonceStore({ maxEntries: NONCES_MAX }),
  maxSkewSec: 120,
  // The ceiling measures the signed HTTPS layer alone: no rate limit (Koban's own is one upsert per call).
  rateLimiter: { take: async () => ({ allowed: true }) },
});
server.route('POST', '/v2/bench/noop', async (call) => opaReply('SUCCESS', { data: { merchantId: call.merchantId, received: call.body !== undefined } }));
await server.app.listen({ host: '127.0.0.1', port: Number(port) });
process.send?.('listening');
process.on('SIGTERM', () => void server.app.close().then(() => process.exit(0)));

/**
 * A small HTTP client for the drill: every request leaves from a chosen source address (`localAddress`),
 * because Koban takes the client's IP from the socket and the drill must look like many networks. A
 * `Browser` keeps its own cookies (session, device) and CSRF token, like one phone or one bot; dropping
 * it and making a new one is a new device. Node's http module only: no dependency, and keep-alive pools
 * are per source address (the agent keys sockets by localAddress).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { randomUUID } from 'node:crypto';
import { exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed JSON body, or null when the body is not JSON. */
  readonly body: unknown;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  /** A body sent exactly as given (signed requests), instead of JSON.stringify(body). */
  readonly rawBody?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly localAddress?: string | null;
}

const REQUEST_TIMEOUT_MS = 30_000;
const BODY_MAX_BYTES = 4 * 1024 * 1024;

export interface Transport {
  send(spec: RequestSpec): Promise<HttpResponse>;
  close(): void;
}

/** One keep-alive pool per scheme; `ca` is the PEM the merchant API's certificate chains to. */
export function createTransport(options: { ca?: string | null; maxSocketsPerSource?: number } = {}): Transport {
  const maxSockets = options.maxSocketsPerSource ?? 8;
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  const https = new HttpsAgent({ keepAlive: true, maxSockets, ...(options.ca ? { ca: options.ca } : {}) });
  return {
    send: (spec) => send(spec, http, https),
    close() {
      http.destroy();
      https.destroy();
    },
  };
}

function send(spec: RequestSpec, http: HttpAgent, https: HttpsAgent): Promise<HttpResponse> {
  const url = new URL(spec.url);
  const secure = url.protocol === 'https:';
  const payload = spec.rawBody ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body));
  const headers: Record<string, string> = { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...spec.headers };
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)({
      protocol: url.protocol, hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: spec.method, headers,
      agent: secure ? https : http, timeout: REQUEST_TIMEOUT_MS, ...(spec.localAddress ? { localAddress: spec.localAddress } : {}),
    }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > BODY_MAX_BYTES) response.destroy(new Error(`${spec.method} ${url.pathname}: answer larger than ${BODY_MAX_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = /json/.test(String(response.headers['content-type'] ?? ''));
        let body: unknown = null;
        if (isJson && text !== '') {
          try { body = JSON.parse(text); } catch { body = null; }
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${spec.method} ${url.pathname}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/**
 * The wallet's device key (src/identity/sessions/device-proof.ts): a non-extractable P-256 key made in the
 * browser, signing a DPoP-style proof on every request, so a session is bound to it and a copied cookie is
 * useless without it. Malware on the phone can use it (it signs through the browser), not copy it.
 */
export interface DeviceKey { readonly privateKey: CryptoKey; readonly publicJwk: JWK }

export async function newDeviceKey(): Promise<DeviceKey> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  return { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
}

async function deviceProof(key: DeviceKey, method: string, url: URL): Promise<string> {
  return new SignJWT({ htm: method, htu: `${url.origin}${url.pathname}`, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .setIssuedAt()
    .sign(key.privateKey);
}

/** One device: cookies, the CSRF token Koban hands out with a session, its device key, and the source address it uses. */
export interface Browser {
  readonly base: string;
  address: string | null;
  csrf: string | null;
  readonly cookies: Map<string, string>;
  /** The device key it signs requests with (null: a client without one, such as a copied cookie). */
  deviceKey: Promise<DeviceKey> | null;
  request(method: RequestSpec['method'], path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResponse>;
}

/** A new device; like the wallet it holds a device key unless `withKey` is false. */
export function newBrowser(transport: Transport, base: string, address: string | null, withKey = true): Browser {
  const browser: Browser = {
    base, address, csrf: null, cookies: new Map(), deviceKey: withKey ? newDeviceKey() : null,
    async request(method, path, body, headers = {}) {
      const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      const url = new URL(path, base);
      const proof: Record<string, string> = browser.deviceKey === null ? {} : { dpop: await deviceProof(await browser.deviceKey, method, url) };
      const response = await transport.send({
        method, url: url.toString(), localAddress: browser.address, ...(body === undefined ? {} : { body }),
        headers: { ...(cookie === '' ? {} : { cookie }), ...(browser.csrf === null ? {} : { 'x-csrf-token': browser.csrf }), ...proof, ...headers },
      });
      keepCookies(browser.cookies, response.headers['set-cookie'] ?? []);
      const token = (response.body as { csrfToken?: unknown } | null)?.csrfToken;
      if (typeof token === 'string') browser.csrf = token;
      return response;
    },
  };
  return browser;
}

/**
 * The same phone's session used by someone else: the cookies and CSRF token copied, from `address`, with the
 * device key (malware on the phone signs through it) or without it (a cookie copied off the phone).
 */
export function hijack(transport: Transport, victim: Browser, address: string | null, withKey: boolean): Browser {
  const copy = newBrowser(transport, victim.base, address, false);
  for (const [name, value] of victim.cookies) copy.cookies.set(name, value);
  copy.csrf = victim.csrf;
  copy.deviceKey = withKey ? victim.deviceKey : null;
  return copy;
}

function keepCookies(jar: Map<string, string>, setCookies: readonly string[]): void {
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a)) || attributes.some((a) => /^\s*expires\s*=\s*thu, 01 jan 1970/i.test(a));
    if (value === '' || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

/** The problem code (`type: /problems/<code>`) of an error answer, or `http_<status>`. */
export function problemCode(response: HttpResponse): string {
  const type = (response.body as { type?: unknown } | null)?.type;
  if (typeof type === 'string') return type.split('/').pop() ?? type;
  return `http_${response.status}`;
}

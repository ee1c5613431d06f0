import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type NodeHandler } from 'oidc-provider';
import { createAccountStore, type DevUser } from './accounts.ts';
import { buildConfiguration, CLIENTS_MAX, type DevIdpClient } from './config.ts';
import { handleInteraction, matchInteractionRoute } from './interactions.ts';
import { generateSigningJwk, type DevIdpSigningAlg } from './keys.ts';
import { createLoginAttempts } from './login-attempts.ts';

export type { DevIdpClient } from './config.ts';
export type { DevUser } from './accounts.ts';
export type { DevIdpSigningAlg } from './keys.ts';

export type DevIdpOptions = {
  issuer: string;
  clients: readonly DevIdpClient[];
  users: readonly DevUser[];
  signingAlg?: DevIdpSigningAlg;
  // Defaults to a fresh random key per start, which logs everyone out on restart: fine for development.
  cookieKeys?: string[];
};

export type RunningDevIdp = {
  readonly issuer: string;
  readonly provider: Provider;
  readonly port: number;
  close(): Promise<void>;
};

export type DevIdp = {
  readonly issuer: string;
  readonly provider: Provider;
  readonly handle: NodeHandler;
  listen(port: number, host?: string): Promise<RunningDevIdp>;
};

const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;

function assertOptions(options: Omit<DevIdpOptions, 'issuer'>): void {
  assert(options.clients.length > 0 && options.clients.length <= CLIENTS_MAX, `between 1 and ${CLIENTS_MAX} clients`);
  for (const client of options.clients) {
    assert(client.client_secret.length >= 32, `client ${client.client_id}: secret must be at least 32 characters`);
    assert(client.redirect_uris.length > 0, `client ${client.client_id}: at least one redirect URI`);
  }
}

function route(provider: Provider, interactions: Parameters<typeof handleInteraction>[2]): NodeHandler {
  const oidc = provider.callback();
  return (req, res) => {
    // Split instead of new URL(): a request target such as "//host/x" would otherwise parse as a host.
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const interactionRoute = matchInteractionRoute(pathname);
    if (interactionRoute !== undefined) return handleInteraction(req, res, interactions, interactionRoute);
    return oidc(req, res);
  };
}

function createBoundedServer(handle: () => NodeHandler | undefined): Server {
  const server = createServer((req, res) => {
    const handler = handle();
    if (handler === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    void handler(req, res);
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  return server;
}

async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  assert(address !== null && typeof address === 'object', 'server must listen on a TCP port');
  return (address as AddressInfo).port;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // fetch keeps connections alive; without this close() waits for them to time out.
      server.closeAllConnections();
    });
}

export async function buildDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  assertOptions(options);
  const signingAlg = options.signingAlg ?? 'RS256';
  const accounts = await createAccountStore(options.users);
  const signingJwk = await generateSigningJwk(signingAlg);
  const cookieKeys = options.cookieKeys ?? [randomBytes(32).toString('base64url')];
  const configuration = buildConfiguration({ clients: options.clients, signingJwk, signingAlg, cookieKeys, accounts });
  const provider = new Provider(options.issuer, configuration);
  provider.on('server_error', (_ctx: unknown, error: unknown) => console.error('dev idp server_error', error));
  const interactions = { provider, accounts, formKey: randomBytes(32), attempts: createLoginAttempts() };
  const handle = route(provider, interactions);

  return {
    issuer: options.issuer,
    provider,
    handle,
    async listen(port, host = '127.0.0.1') {
      const server = createBoundedServer(() => handle);
      const boundPort = await listenOn(server, port, host);
      return { issuer: options.issuer, provider, port: boundPort, close: closer(server) };
    },
  };
}

// For tests and local runs on an ephemeral port: the issuer (which names the port) is only known after
// listening, so the server starts first and the provider is attached once it exists.
export async function startDevIdp(
  options: Omit<DevIdpOptions, 'issuer'> & { host?: string; port?: number },
): Promise<RunningDevIdp> {
  assertOptions(options);
  const host = options.host ?? '127.0.0.1';
  let handle: NodeHandler | undefined;
  const server = createBoundedServer(() => handle);
  const port = await listenOn(server, options.port ?? 0, host);
  try {
    const idp = await buildDevIdp({ ...options, issuer: `http://${host}:${port}` });
    handle = idp.handle;
    return { issuer: idp.issuer, provider: idp.provider, port, close: closer(server) };
  } catch (error) {
    await closer(server)();
    throw error;
  }
}

// Starts the development identity provider that stands in for LINE/Google/Apple.
//
//   npm exec -- node sandbox/idp/main.ts
//
// Plain http on 127.0.0.1 only: the RP accepts http issuers solely for loopback hosts and only with
// allowInsecureHttp set. Keys and the session store live in memory and vanish on restart.
import { buildDevIdp, type DevIdpSigningAlg } from './dev-idp.ts';

const DEFAULT_PORT = 4000;
const SECRET_LENGTH_MIN = 32;

function env(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

function requiredSecret(name: string): string {
  const value = process.env[name] ?? '';
  if (value.length < SECRET_LENGTH_MIN) {
    throw new Error(`${name} must be set to a secret of at least ${SECRET_LENGTH_MIN} characters`);
  }
  return value;
}

function signingAlg(): DevIdpSigningAlg {
  const value = env('DEV_IDP_SIGNING_ALG', 'RS256');
  if (value !== 'RS256' && value !== 'ES256') throw new Error('DEV_IDP_SIGNING_ALG must be RS256 or ES256');
  return value;
}

const host = env('DEV_IDP_HOST', '127.0.0.1');
const port = Number.parseInt(env('DEV_IDP_PORT', String(DEFAULT_PORT)), 10);
const issuer = env('DEV_IDP_ISSUER', `http://${host}:${port}`);

const idp = await buildDevIdp({
  issuer,
  signingAlg: signingAlg(),
  clients: [
    {
      client_id: env('DEV_IDP_CLIENT_ID', 'koban-web'),
      client_secret: requiredSecret('DEV_IDP_CLIENT_SECRET'),
      redirect_uris: env('DEV_IDP_REDIRECT_URIS', 'http://127.0.0.1:3000/v1/auth/social/dev/callback').split(','),
    },
  ],
  // Demo users only; the passwords are public on purpose and the IdP is for development.
  users: [
    { sub: 'line-alice', email: 'alice@example.com', name: 'Alice', password: 'alice-dev-password' },
    { sub: 'line-bob', email: 'bob@example.com', name: 'Bob', password: 'bob-dev-password' },
  ],
});
const running = await idp.listen(port, host);
console.info(`dev IdP listening: issuer ${running.issuer}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void running.close().then(() => process.exit(0));
  });
}

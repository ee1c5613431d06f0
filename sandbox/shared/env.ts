// Reads a sandbox's configuration from `<PREFIX>_*` environment variables, failing fast on missing secrets.
const MIN_SECRET_CHARS = 16;

export interface SandboxEnv {
  port: number;
  host: string;
  apiKey: string;
  webhookSecret: string;
  webhookUrl: string | undefined;
  testApiKey: string | undefined;
  publicUrl: string | undefined;
}

function secret(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value.length < MIN_SECRET_CHARS) {
    throw new Error(`${name} must be set to at least ${MIN_SECRET_CHARS} characters`);
  }
  return value;
}

function optionalUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be an http(s) URL`);
  return url.toString();
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new Error(`${name} must be a TCP port`);
  return value;
}

export function readSandboxEnv(prefix: string, defaultPort: number, env: NodeJS.ProcessEnv = process.env): SandboxEnv {
  const testKey = env[`${prefix}_TEST_API_KEY`];
  return {
    port: port(env, `${prefix}_PORT`, defaultPort),
    host: env[`${prefix}_HOST`] ?? '127.0.0.1',
    apiKey: secret(env, `${prefix}_API_KEY`),
    webhookSecret: secret(env, `${prefix}_WEBHOOK_SECRET`),
    webhookUrl: optionalUrl(env, `${prefix}_WEBHOOK_URL`),
    testApiKey: testKey === undefined || testKey === '' ? undefined : secret(env, `${prefix}_TEST_API_KEY`),
    publicUrl: optionalUrl(env, `${prefix}_PUBLIC_URL`),
  };
}

/** Closes the server on SIGINT/SIGTERM so pending webhook timers are cleared. */
export function closeOnSignals(close: () => Promise<unknown>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void close().then(() => process.exit(0));
    });
  }
}

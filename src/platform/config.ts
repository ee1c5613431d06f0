/**
 * Configuration comes only from environment variables, read and validated once at start. Every
 * problem is collected and reported together, so an operator fixes a bad deployment in one pass.
 * Secrets are marked so `describeConfig` never prints them.
 */
import path from 'node:path';

export interface Config {
  readonly nodeEnv: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** PostgreSQL server; when absent Koban runs on the embedded PGlite database in `dataDir`. */
  readonly databaseUrl: string | null;
  readonly databasePoolSize: number;
  readonly dataDir: string;
  readonly demoData: boolean;
  /** Largest amount a single transfer may carry, in minor units. */
  readonly ledgerMaxAmountMinor: bigint;
  /** Bearer token for the internal ledger API; the API is not mounted without one. */
  readonly ledgerApiToken: string | null;
  readonly pendingSweepIntervalMs: number;
}

const SECRET_KEYS: ReadonlySet<keyof Config> = new Set(['databaseUrl', 'ledgerApiToken']);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const reader = makeReader(env, problems);
  const nodeEnv = reader.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const host = reader.string('KOBAN_HOST', '127.0.0.1');
  const port = reader.integer('KOBAN_PORT', 3000, 0, 65535);
  const config: Config = {
    nodeEnv,
    host,
    port,
    publicUrl: reader.string('KOBAN_PUBLIC_URL', `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`),
    logLevel: reader.oneOf('KOBAN_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl: reader.optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: reader.integer('KOBAN_DATABASE_POOL_SIZE', 20, 1, 500),
    dataDir: path.resolve(reader.string('KOBAN_DATA_DIR', '.koban/data')),
    demoData: reader.boolean('KOBAN_DEMO_DATA', true),
    ledgerMaxAmountMinor: reader.bigint('KOBAN_LEDGER_MAX_AMOUNT', 100_000_000_000n),
    ledgerApiToken: reader.optionalSecret('KOBAN_LEDGER_API_TOKEN', 32),
    pendingSweepIntervalMs: reader.integer('KOBAN_PENDING_SWEEP_INTERVAL_MS', 1000, 50, 60_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A printable view of the configuration with every secret replaced. */
export function describeConfig(config: Config): Record<string, string> {
  const view: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const hidden = SECRET_KEYS.has(key as keyof Config) && value !== null;
    view[key] = hidden ? '[set, hidden]' : String(value);
  }
  return view;
}

function makeReader(env: Env, problems: string[]) {
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const parsed = /^[0-9]+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
        problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
        return fallback;
      }
      return parsed;
    },
    bigint(name: string, fallback: bigint): bigint {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^[1-9][0-9]{0,17}$/.test(value)) {
        problems.push(`${name} must be a positive whole number below 10^18 (got "${value}")`);
        return fallback;
      }
      return BigInt(value);
    },
    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      problems.push(`${name} must be true or false (got "${value}")`);
      return fallback;
    },
    oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      if ((allowed as readonly string[]).includes(value)) return value as T;
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    },
    optionalUrl(name: string, protocols: readonly string[]): string | null {
      const value = raw(name);
      if (value === undefined) return null;
      const url = URL.parse(value);
      if (url === null || !protocols.includes(url.protocol)) {
        // Never echo the value: a database URL usually carries a password.
        problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
        return null;
      }
      return value;
    },
    optionalSecret(name: string, minLength: number): string | null {
      const value = raw(name);
      if (value === undefined) return null;
      if (value.length < minLength) {
        problems.push(`${name} must be at least ${minLength} characters long`);
        return null;
      }
      return value;
    },
  };
}

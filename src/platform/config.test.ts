import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from './config.ts';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ nodeEnv: 'development', port: 3000, databaseUrl: null, ledgerMaxAmountMinor: 100_000_000_000n });
  });

  it('reports every problem at once, with the variable name', () => {
    const attempt = () => loadConfig({ KOBAN_PORT: '70000', NODE_ENV: 'prod', KOBAN_DEMO_DATA: 'maybe', DATABASE_URL: 'mysql://u:hunter2@h/db', KOBAN_LEDGER_API_TOKEN: 'short' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['KOBAN_PORT', 'NODE_ENV', 'KOBAN_DEMO_DATA', 'DATABASE_URL', 'KOBAN_LEDGER_API_TOKEN']) expect(problems).toContain(name);
      // A rejected database URL is never echoed: it usually carries a password.
      expect(problems).not.toContain('hunter2');
    }
  });

  it('never prints secrets', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://koban:s3cret@db:5432/koban', KOBAN_LEDGER_API_TOKEN: 'x'.repeat(40) });
    const printed = JSON.stringify(describeConfig(config));
    expect(printed).not.toContain('s3cret');
    expect(printed).not.toContain('x'.repeat(40));
    expect(printed).toContain('[set, hidden]');
  });
});

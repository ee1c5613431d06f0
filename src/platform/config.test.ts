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

/** A production configuration with every required secret (none of them real). */
const PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://koban:pw@db:5432/koban',
  KOBAN_IDENTITY_SECRET: 'i'.repeat(40),
  KOBAN_OPERATOR_SECRET: 'o'.repeat(40),
  KOBAN_SECRET_KEY: 'k'.repeat(43),
  KOBAN_SMTP_URL: 'smtp://mail.example:587',
  KOBAN_SMS_URL: 'https://sms.example/send',
};

describe('demonstration parts', () => {
  it('are on by default only under NODE_ENV=development (npm start), off in test and production', () => {
    const development = loadConfig({});
    expect([development.demoData, development.operations.demoOperator, development.devSandboxes, development.devIdentityProvider]).toEqual([true, true, true, true]);
    const test = loadConfig({ NODE_ENV: 'test' });
    expect([test.demoData, test.operations.demoOperator, test.devSandboxes, test.devIdentityProvider]).toEqual([false, false, false, false]);
    const production = loadConfig(PRODUCTION);
    expect([production.demoData, production.operations.demoOperator, production.devSandboxes, production.devIdentityProvider]).toEqual([false, false, false, false]);
  });

  it('can be asked for outside production, one by one', () => {
    const asked = loadConfig({ NODE_ENV: 'test', KOBAN_DEMO_DATA: 'true', KOBAN_SANDBOXES: 'true' });
    expect([asked.demoData, asked.devSandboxes, asked.devIdentityProvider]).toEqual([true, true, false]);
    const declined = loadConfig({ KOBAN_DEMO_DATA: 'false', KOBAN_DEV_IDP: 'false' });
    expect([declined.demoData, declined.devSandboxes, declined.devIdentityProvider]).toEqual([false, true, false]);
  });

  it('are refused in production even when asked for, every one reported at once with the other problems', () => {
    const asked = { ...PRODUCTION, KOBAN_DEMO_DATA: 'true', KOBAN_DEMO_OPERATOR: 'true', KOBAN_SANDBOXES: 'true', KOBAN_DEV_IDP: 'true', KOBAN_SECRET_KEY: '', DATABASE_URL: '' };
    let problems: readonly string[] = [];
    try {
      loadConfig(asked);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    for (const name of ['KOBAN_DEMO_DATA', 'KOBAN_DEMO_OPERATOR', 'KOBAN_SANDBOXES', 'KOBAN_DEV_IDP']) {
      expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${name} is refused in production: it is for demonstration only`)));
    }
    expect(problems).toContainEqual(expect.stringContaining('KOBAN_SECRET_KEY is required in production'));
    expect(problems).toContainEqual(expect.stringContaining('DATABASE_URL is required in production'));
    expect(problems).toHaveLength(6);
  });

  it('a production configuration that asks for none of them is accepted', () => {
    expect(loadConfig({ ...PRODUCTION, KOBAN_DEMO_DATA: 'false', KOBAN_DEV_IDP: '0' })).toMatchObject({ nodeEnv: 'production', demoData: false, devIdentityProvider: false });
  });
});

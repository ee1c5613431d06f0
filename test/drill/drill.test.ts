/**
 * `koban drill` against a real Koban (PostgreSQL, HTTP listener, HTTPS merchant API, sandbox acquirer and
 * bank, demo merchant and operators, background work) — the same pieces `npm start` runs. Short runs with
 * a small crowd; the assertions are about what the drill must be able to tell an operator: that
 * credential stuffing raises alerts, that the default rules plus an operator on watch contain the money
 * phase, that ordinary customers are barely touched, and — so the measurement can fail — that with the
 * rules relaxed the same attack takes more money and is not contained.
 */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKoban, type Koban } from '../../src/koban.ts';
import { startDevSandboxes, type DevSandboxes } from '../../src/demo/sandboxes.ts';
import { seedDemoData } from '../../src/demo/seed.ts';
import { seedDemoPayments } from '../../src/demo/demo-payments.ts';
import { seedDemoOperators } from '../../src/operations/operators/demo.ts';
import { runDrill } from '../../src/drill/drill.ts';
import { createTransport, newBrowser, type Transport } from '../../src/drill/http.ts';
import { relaxAllRules, signInOperator, type Ops } from '../../src/drill/ops.ts';
import { defaultOptions, type DrillOptions } from '../../src/drill/options.ts';
import { parseDrillArgs } from '../../src/drill/cli.ts';
import { hasPasskey } from '../../src/drill/population.ts';
import { formatReport } from '../../src/drill/report.ts';
import type { DrillReport } from '../../src/drill/measure.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testConfig } from '../support/koban.ts';

let db: TestDatabase;
let koban: Koban;
let sandboxes: DevSandboxes;
let transport: Transport;
let ops: Ops;
let base: DrillOptions;
/** The loss with the default rules, which the relaxed run must exceed. */
let defaultRulesLoss = Number.POSITIVE_INFINITY;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

beforeAll(async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tlsDir = mkdtempSync(path.join(tmpdir(), 'koban-drill-tls-'));
  sandboxes = await startDevSandboxes({ KOBAN_PUBLIC_URL: url, KOBAN_SANDBOX_ACQUIRER_PORT: '0', KOBAN_SANDBOX_BANK_PORT: '0' });
  const env = Object.fromEntries(Object.entries(sandboxes.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  db = await createTestDatabase();
  koban = await createKoban(testConfig({ ...env, KOBAN_PUBLIC_URL: url, KOBAN_OPA_PORT: '0', KOBAN_OPA_TLS: 'true', KOBAN_TLS_DIR: tlsDir, KOBAN_TOPUP_RECONCILE_DELAY_MS: '0' }), db);
  await seedDemoData(db, koban.ledger);
  await seedDemoOperators(koban.operations.operators, 'test');
  koban.startBackgroundWork();
  await koban.app.listen({ host: '127.0.0.1', port });
  const opaUrl = await koban.payments.listenOpa();
  await seedDemoPayments(db, koban.payments.box);
  const caPem = await readFile(path.join(tlsDir, 'ca.pem'), 'utf8');
  transport = createTransport();
  ops = await signInOperator(newBrowser(transport, url, null, false), { ...defaultOptions().operator, passkeyFile: null });
  base = defaultOptions({
    url, opaUrl, caPem, durationSec: 20, ordinaryCustomers: 4, victims: 3, unknownAccounts: 40, wrongPasswordsPerVictim: 5,
    attackerNetworks: 1, attackerConcurrency: 3, ordinaryIntervalSec: 4, victimBalanceMinor: 30_000, ordinaryBalanceMinor: 20_000,
    // No wait after the victims' own set-up top-ups (the CLI waits 75 s): shorter, and the assertions hold either way.
    victimQuietSec: 0,
    // Nobody pays with a passkey in these runs (--passkeys 0): the rules and the PIN alone, so the no-rules baseline
    // can take money. The run with passkeys is the last drill below.
    passkeyShare: 0,
  });
}, 120_000);

afterAll(async () => {
  transport?.close();
  await koban?.close();
  await sandboxes?.close();
  await db?.close();
});

function expectShape(report: DrillReport): void {
  expect(report).toMatchObject({
    target: { url: base.url, sourcesSpread: true },
    population: { ordinary: 4, victims: 3 },
    attack: { stuffing: expect.any(Object), takeovers: expect.any(Object), topUps: expect.any(Object), payments: expect.any(Object) },
    moneyLost: { totalYen: expect.any(Number), fromVictimBalancesYen: expect.any(Number), stolenCardMoneySpentYen: expect.any(Number) },
    falsePositives: { customersAffected: expect.any(Number), refusedActions: expect.any(Number) },
  });
  expect(report.attack.stuffing.attempts).toBeGreaterThan(20);
  expect(formatReport(report)).toContain('time to first alert');
  expect(JSON.parse(JSON.stringify(report))).toEqual(report);
}

describe('koban drill against a running Koban', () => {
  it('with leaked passwords only, stuffing cannot tell the reused passwords from wrong ones, every try meets a second factor, and no money moves', async () => {
    const report = await runDrill({ ...base, seed: 11 }, { ops });
    expectShape(report);
    // Right and wrong passwords alike answer second_factor_required (wrong ones with a decoy): nothing is confirmed.
    expect(report.attack.stuffing.passwordsConfirmed).toBe(0);
    expect(report.attack.stuffing.invalidCredentials).toBe(0);
    expect(report.attack.stuffing.challenged + report.attack.stuffing.throttled).toBe(report.attack.stuffing.attempts);
    expect(report.attack.takeovers.succeeded).toBe(0);
    expect(report.attack.payments.attempted).toBe(0);
    expect(report.moneyLost.totalYen).toBe(0);
    expect(report.containment.status).toBe('no_money_phase');
    // Five wrong passwords on each victim and forty-odd failures from one /24 are a burst: the right
    // passwords that come after them are flagged, and that is the first alert.
    expect(report.alertsByKind.attacker.sign_in ?? 0).toBeGreaterThan(0);
    expect(report.firstAlert?.kind).toBe('sign_in');
    expect(report.falsePositives.customersAffected).toBeLessThanOrEqual(1);
  }, 120_000);

  it('when the attacker also holds the victims\' phones, the default rules raise an alert and an operator on watch contains the money phase', async () => {
    const report = await runDrill({ ...base, seed: 12, assumeSessions: true, respondAfterSec: 3 }, { ops });
    expectShape(report);
    defaultRulesLoss = report.moneyLost.totalYen;
    expect(report.attack.takeovers.succeeded).toBe(3);
    expect(report.firstAlert).not.toBeNull();
    expect(report.containment.status).toBe('contained');
    // The 7pay burst: no taken account gets more than two top-ups within the minute. Which defence stops
    // the third depends on timing — the rapid_top_ups rule, or the operator's freeze when it comes first
    // (a loaded machine) — so the assertion is on the top-ups that went through; the relaxed run below
    // shows the same attack getting more than two per account.
    expect(report.attack.topUps.succeeded).toBeLessThanOrEqual(2 * report.attack.takeovers.succeeded);
    expect(report.moneyLost.totalYen).toBeLessThan(3 * 30_000);
    expect(report.falsePositives.walletsFrozen).toBe(0);
    expect(report.falsePositives.customersAffected).toBeLessThanOrEqual(1);
  }, 120_000);

  it('with every rule relaxed through the operator API, the same attack raises no case, is not contained and takes more money', async () => {
    const restore = await relaxAllRules(ops, 'koban drill test: the no-rules baseline');
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const report = await runDrill({ ...base, seed: 12, assumeSessions: true, respondAfterSec: 3 }, { ops });
      expectShape(report);
      expect(report.attack.takeovers.succeeded).toBe(3);
      expect(report.firstAlert).toBeNull();
      expect(report.containment.status).toBe('not_contained');
      expect(report.moneyLost.totalYen).toBeGreaterThan(defaultRulesLoss);
      // Without the rules every stolen-card top-up goes through: more than two per account.
      expect(report.attack.topUps.succeeded).toBeGreaterThan(2 * report.attack.takeovers.succeeded);
      expect(report.moneyLost.fromVictimBalancesYen).toBe(3 * 30_000);
    } finally {
      await restore();
    }
  }, 120_000);

  it('the attack classes of issue 13 side by side, each against its own victims, each on its own row', async () => {
    const report = await runDrill({ ...base, seed: 13, victims: 2, durationSec: 30, unknownAccounts: 10, respondAfterSec: 3,
      attacks: ['stuffing-slow', 'stolen-session', 'stolen-session-home', 'colluding-merchant', 'sim-swap'] }, { ops });
    const row = (name: string) => report.classes.find((c) => c.attack === name);
    expect(report.classes.map((c) => c.attack)).toEqual(['stuffing-slow', 'stolen-session', 'stolen-session-home', 'colluding-merchant', 'sim-swap']);
    // Every customer was made established (a phone 400 days old), so the malware confirms held payments with the PIN.
    expect(report.settings.establishedDays).toBe(400);
    expect(report.classes.every((c) => c.victims === 2)).toBe(true);
    // Low and slow: every try meets a second factor, right password or wrong, so none is confirmed; no session, no money.
    expect(row('stuffing-slow')).toMatchObject({ passwordsConfirmed: 0, compromised: 0, containment: { status: 'no_money_phase' } });
    // A session cookie copied off the phone is useless without the phone's device key.
    expect(row('stolen-session')?.phases.copied_cookie).toBe('0/2');
    expect(row('colluding-merchant')?.phases.copied_cookie).toBe('0/2');
    // Malware on the phone holds the key: the session is the thief's, and the defences must hold the money.
    expect(row('stolen-session')?.compromised).toBe(2);
    expect(row('stolen-session')?.lossPerCompromisedYen.max).toBeLessThan(30_000);
    // From the victim's own network too (nothing unusual but the pace): refused before the wallet is empty.
    expect(row('stolen-session-home')?.compromised).toBe(2);
    expect(row('stolen-session-home')?.lossPerCompromisedYen.max).toBeLessThan(30_000);
    // SIM swap: recovery wants two channels, so the SMS alone is refused.
    expect(row('sim-swap')?.phases.recovery).toBe('0/2');
    expect(formatReport(report)).toContain('colluding-merchant');
  }, 240_000);

  it('when every customer pays with a passkey, malware holding the session, device key and PIN and a SIM-swapper take nothing, while the owners pay with theirs', async () => {
    const report = await runDrill({ ...base, seed: 14, victims: 2, durationSec: 30, unknownAccounts: 10, respondAfterSec: 3, assumeSessions: true, passkeyShare: 1,
      attacks: ['7pay', 'stolen-session', 'stolen-session-home', 'colluding-merchant', 'sim-swap'] }, { ops });
    const row = (name: string) => report.classes.find((c) => c.attack === name);
    expect(report.settings.passkeyShare).toBe(1);
    // The owners: every code minted after a passkey step-up, and paid at the till (nothing refused for want of the proof).
    const [mintedOk, mintedTried] = (report.falsePositives.byPhase.code_mint ?? '0/0').split('/').map(Number);
    expect(mintedTried).toBeGreaterThan(0);
    expect(mintedOk).toBe(mintedTried);
    expect(Object.keys(report.falsePositives.refusedByCode).filter((code) => code.includes('passkey') || code.includes('step_up'))).toEqual([]);
    // Malware on the phone (its own network or the victim's, or paying a colluding merchant's order QRs): a session
    // and every key the phone has, but no passkey, so every code and every order QR is refused and nothing is lost.
    for (const name of ['stolen-session', 'stolen-session-home', 'colluding-merchant']) {
      expect(row(name)?.compromised).toBe(2);
      expect(row(name)?.lossPerCompromisedYen.max).toBe(0);
      expect(row(name)?.phases.payment ?? '0/0').toMatch(/^0\//);
      // The refused attempt is a signal an operator sees (security_signal → review), once per customer.
      expect(row(name)?.firstAlert?.what).toContain('payment_passkey_missing');
    }
    expect(row('stolen-session')?.refusals['code_mint:payment_passkey_required']).toBeGreaterThan(0);
    expect(row('stolen-session-home')?.refusals['code_mint:payment_passkey_required']).toBeGreaterThan(0);
    expect(row('colluding-merchant')?.refusals['payment:payment_passkey_required']).toBeGreaterThan(0);
    // SIM swap: signs in with the SMS, but cannot add a passkey of its own nor make a pay step-up with the SMS.
    expect(row('sim-swap')?.compromised).toBe(2);
    expect(row('sim-swap')?.phases.passkey_add).toBe('0/2');
    expect(row('sim-swap')?.phases.pay_step_up).toBe('0/2');
    expect(row('sim-swap')?.lossPerCompromisedYen.max).toBe(0);
    // 7pay with the victims' phones: no stolen card added by SMS, no payment.
    expect(row('7pay')?.compromised).toBe(2);
    expect(row('7pay')?.lossPerCompromisedYen.max).toBe(0);
    expect(report.attack.cardsAdded.succeeded).toBe(0);
    expect(report.moneyLost.totalYen).toBe(0);
  }, 300_000);

  it('the command line refuses unknown options and out-of-range sizes, and reads the documented flags', () => {
    expect(parseDrillArgs(['--bogus'])).toEqual({ error: 'unknown option --bogus' });
    expect(parseDrillArgs(['--duration', '5'])).toEqual({ error: '--duration must be from 10 to 3600' });
    expect(parseDrillArgs(['--respond-after', 'soon'])).toEqual({ error: '--respond-after must be a whole number' });
    const parsed = parseDrillArgs(['--url', 'http://127.0.0.1:9', '--assume-sessions', '--respond-after', '30', '--json', '--victims', '4']);
    expect(parsed).toMatchObject({ json: true, options: { url: 'http://127.0.0.1:9', assumeSessions: true, respondAfterSec: 30, victims: 4 } });
    expect(parseDrillArgs(['--attack', 'all', '--minutes', '2'])).toMatchObject({ options: { attacks: ['7pay', 'stuffing-slow', 'stolen-session', 'stolen-session-home', 'colluding-merchant', 'sim-swap'], durationSec: 120, establishedDays: 400 } });
    expect(parseDrillArgs(['--established-days', '0'])).toMatchObject({ options: { establishedDays: 0 } });
    expect(parseDrillArgs([])).toMatchObject({ options: { passkeyShare: 1 } });
    expect(parseDrillArgs(['--passkeys', '0.25'])).toMatchObject({ options: { passkeyShare: 0.25 } });
    expect(parseDrillArgs(['--passkeys', '1.5'])).toEqual({ error: '--passkeys must be a share from 0 to 1' });
    expect(parseDrillArgs(['--passkeys', 'all'])).toEqual({ error: '--passkeys must be a share from 0 to 1' });
    // A share is spread evenly over each role's indices (each attack class's victims are consecutive ones).
    const holders = (share: number) => Array.from({ length: 8 }, (_, i) => i).filter((i) => hasPasskey(i, share));
    expect(holders(0)).toEqual([]);
    expect(holders(1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(holders(0.5)).toEqual([1, 3, 5, 7]);
    expect(holders(0.25)).toHaveLength(2);
    expect(parseDrillArgs(['--established-days', '5000'])).toEqual({ error: '--established-days must be from 0 to 3650' });
    expect(parseDrillArgs(['--attack', 'sim-swap,stolen-session'])).toMatchObject({ options: { attacks: ['sim-swap', 'stolen-session'] } });
    expect(parseDrillArgs(['--attack', 'phishing'])).toEqual({ error: expect.stringContaining('--attack must be one of') });
  });
});


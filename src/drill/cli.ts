/**
 * `koban drill [options]`: the command line over runDrill. Prints the report (or `--json`) on stdout and
 * progress on stderr. Exit codes: 0 the drill ran (whatever it found), 2 it could not run or was refused.
 */
import { readFileSync } from 'node:fs';
import { DrillRefused, runDrill } from './drill.ts';
import { defaultOptions, DRILL_DEFAULTS, type DrillOptions } from './options.ts';
import { formatReport } from './report.ts';
import { ATTACK_CLASSES, type AttackClass } from './journal.ts';

export const DRILL_USAGE = `usage: koban drill [options]

Replays a 7pay-style attack (credential stuffing from a block of networks, takeovers, stolen-card
top-ups, rapid spending at stores) against a running Koban with ordinary customers' traffic mixed in,
and reports time to first alert, time to containment, money lost and false positives.

  --url URL                 Koban's API (default ${DRILL_DEFAULTS.url})
  --opa-url URL             the merchant API (default ${DRILL_DEFAULTS.opaUrl})
  --ca FILE                 CA of the merchant API's certificate (default .koban/tls/ca.pem if present)
  --operator EMAIL          operator to sign in as (default the demo administrator)
  --operator-password P     (default the demo operators' password)
  --operator-totp-secret S  base32 TOTP secret (default the demo operators' secret)
  --operator-passkey FILE   the drill operator's software passkey, enrolled on first use (default .koban/drill-operator-passkey.json)
  --merchant-key K --merchant-secret S   merchant API key (default the demo Koban Mart key)
  --attack CLASS            ${ATTACK_CLASSES.join(', ')} or all (side by side, each with its own
                            victims); repeat or comma-separate for several (default 7pay)
  --minutes M               how long the attack runs, in minutes (or --duration SEC)
  --duration SEC            how long the attack runs (default ${DRILL_DEFAULTS.durationSec}); ordinary traffic starts
                            when set-up ends, and the attack ${DRILL_DEFAULTS.victimQuietSec} s after the victims' own top-ups
  --ordinary N              ordinary customers (default ${DRILL_DEFAULTS.ordinaryCustomers})
  --victims N               victims per attack class (default ${DRILL_DEFAULTS.victims})
  --unknown N               leaked accounts Koban never had (default ${DRILL_DEFAULTS.unknownAccounts})
  --wrong-per-victim N      wrong passwords per victim on the list (default ${DRILL_DEFAULTS.wrongPasswordsPerVictim})
  --networks N              /24 networks the stuffing comes from (default ${DRILL_DEFAULTS.attackerNetworks})
  --concurrency N           attacker bots (default ${DRILL_DEFAULTS.attackerConcurrency})
  --assume-sessions         the attacker also holds the victims' phones and PINs (7pay had no second factor)
  --respond-after SEC       a simulated operator freezes each new case's wallet this long after it opens
  --seed N                  plan seed (default ${DRILL_DEFAULTS.seed})
  --established-days N      every customer is made N days old after set-up: phone, networks, the chain's
                            stores, a spending history (default ${DRILL_DEFAULTS.establishedDays}; 0: newcomers, minutes old)
  --passkeys SHARE          share of customers, 0 to 1, who register a synced passkey in set-up and pay
                            with it (default ${DRILL_DEFAULTS.passkeyShare}; 0: nobody, as before passkeys)
  --json                    print the report as JSON
  --allow-production        run even if Koban looks like production (it will still need the dev outbox)
`;

type Parsed = { options: DrillOptions; json: boolean } | { help: true } | { error: string };

export function parseDrillArgs(args: readonly string[]): Parsed {
  const overrides: Record<string, unknown> = {};
  const operator = { ...defaultOptions().operator };
  const merchant = { ...defaultOptions().merchant };
  let json = false;
  const attacks: AttackClass[] = [];
  let caFile: string | null = null;
  const numberFlags: Record<string, keyof DrillOptions> = {
    '--duration': 'durationSec', '--ordinary': 'ordinaryCustomers', '--victims': 'victims', '--unknown': 'unknownAccounts',
    '--wrong-per-victim': 'wrongPasswordsPerVictim', '--networks': 'attackerNetworks', '--concurrency': 'attackerConcurrency',
    '--respond-after': 'respondAfterSec', '--seed': 'seed', '--established-days': 'establishedDays',
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    try {
      if (flag === '--help' || flag === '-h') return { help: true };
      else if (flag === '--json') json = true;
      else if (flag === '--assume-sessions') overrides.assumeSessions = true;
      else if (flag === '--allow-production') overrides.allowProduction = true;
      else if (flag === '--attack') attacks.push(...parseAttacks(value()));
      else if (flag === '--passkeys') overrides.passkeyShare = parseShare(flag, value());
      else if (flag === '--minutes') {
        const text = value();
        if (!/^[0-9]+$/.test(text)) throw new Error('--minutes must be a whole number');
        overrides.durationSec = Number(text) * 60;
      } else if (flag === '--url') overrides.url = value();
      else if (flag === '--opa-url') overrides.opaUrl = value();
      else if (flag === '--ca') caFile = value();
      else if (flag === '--operator') operator.email = value();
      else if (flag === '--operator-password') operator.password = value();
      else if (flag === '--operator-totp-secret') operator.totpSecret = value();
      else if (flag === '--operator-passkey') operator.passkeyFile = value();
      else if (flag === '--merchant-key') merchant.apiKey = value();
      else if (flag === '--merchant-secret') merchant.apiSecret = value();
      else if (flag in numberFlags) {
        const text = value();
        const parsed = Number(text);
        if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(parsed)) throw new Error(`${flag} must be a whole number`);
        overrides[numberFlags[flag] as string] = parsed;
      } else throw new Error(`unknown option ${flag}`);
    } catch (error) {
      return { error: (error as Error).message };
    }
  }
  const limits: Array<[string, number, number, number]> = [
    ['--duration', Number(overrides.durationSec ?? DRILL_DEFAULTS.durationSec), 10, 3600],
    ['--ordinary', Number(overrides.ordinaryCustomers ?? DRILL_DEFAULTS.ordinaryCustomers), 0, 500],
    ['--victims', Number(overrides.victims ?? DRILL_DEFAULTS.victims), 1, 200],
    ['--networks', Number(overrides.attackerNetworks ?? DRILL_DEFAULTS.attackerNetworks), 1, 256],
    ['--concurrency', Number(overrides.attackerConcurrency ?? DRILL_DEFAULTS.attackerConcurrency), 1, 32],
    ['--established-days', Number(overrides.establishedDays ?? DRILL_DEFAULTS.establishedDays), 0, 3650],
  ];
  for (const [flag, got, min, max] of limits) if (got < min || got > max) return { error: `${flag} must be from ${min} to ${max}` };
  if (attacks.length > 0) overrides.attacks = [...new Set(attacks)];
  let caPem: string | null = null;
  try {
    caPem = readFileSync(caFile ?? '.koban/tls/ca.pem', 'utf8');
  } catch (error) {
    if (caFile !== null) return { error: `cannot read --ca ${caFile}: ${(error as Error).message}` };
  }
  return { options: defaultOptions({ ...overrides, operator, merchant, caPem, log: (line) => process.stderr.write(`${line}\n`) } as Partial<DrillOptions>), json };
}

/** A share from 0 to 1 (`0`, `0.25`, `1`). */
function parseShare(flag: string, text: string): number {
  const share = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || share > 1) throw new Error(`${flag} must be a share from 0 to 1`);
  return share;
}

function parseAttacks(text: string): AttackClass[] {
  const out: AttackClass[] = [];
  for (const name of text.split(',').map((n) => n.trim())) {
    if (name === 'all') out.push(...ATTACK_CLASSES);
    else if ((ATTACK_CLASSES as readonly string[]).includes(name)) out.push(name as AttackClass);
    else throw new Error(`--attack must be one of ${ATTACK_CLASSES.join(', ')} or all`);
  }
  return out;
}

export async function drillCommand(args: readonly string[]): Promise<number> {
  const parsed = parseDrillArgs(args);
  if ('help' in parsed) {
    process.stdout.write(DRILL_USAGE);
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`koban drill: ${parsed.error}\n\n${DRILL_USAGE}`);
    return 2;
  }
  try {
    const report = await runDrill(parsed.options);
    process.stdout.write(`${parsed.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`koban drill: ${error instanceof DrillRefused ? error.message : (error as Error).stack ?? String(error)}\n`);
    return 2;
  }
}

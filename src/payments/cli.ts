/**
 * `koban settlement close --date YYYY-MM-DD`: closes a business day (JST) for every merchant with
 * activity that day, instructs payouts to the bank (KOBAN_BANK_URL / KOBAN_BANK_API_KEY; without them
 * the settlement is recorded and the payout waits), and writes one reconciliation CSV per merchant to
 * KOBAN_SETTLEMENT_DIR/<merchantId>/<date>.csv. Re-running a closed day changes nothing.
 * `koban settlement payouts`: asks the bank about instructed payouts (settlement/payout-outcomes.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLedger, type Ledger } from '../ledger/ledger.ts';
import { createSecretBox } from '../merchants/secret-box.ts';
import { resolveSecretKey } from '../merchants/secret-key.ts';
import { loadConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { HttpBankRail } from '../wallet/funding/http-bank.ts';
import { ensurePlatformAccounts } from '../ledger/platform-accounts.ts';
import { closeBusinessDay, type SettlementDeps } from './settlement/close.ts';
import { createOutbox } from './webhooks/outbox.ts';
import { reconcilePayouts } from './settlement/payout-outcomes.ts';
import { reconciliationCsv } from './settlement/reconciliation.ts';
import { businessDate } from './time.ts';

interface CliCommand {
  readonly words: readonly string[];
  readonly summary: string;
  readonly usage?: string;
  run(db: Database, args: readonly string[]): Promise<number>;
}

function dateArgument(args: readonly string[]): string | null {
  if (args.length === 0) return businessDate(new Date(Date.now() - 24 * 3600 * 1000));
  if (args.length === 2 && args[0] === '--date' && args[1] !== undefined) return args[1];
  return null;
}

async function settlementDeps(db: Database): Promise<{ deps: SettlementDeps; ledger: Ledger; settlementDir: string }> {
  const config = loadConfig();
  const box = createSecretBox(await resolveSecretKey(config));
  const ledger = createLedger(db, { maxAmountMinor: config.ledgerMaxAmountMinor });
  await ensurePlatformAccounts(ledger);
  const { payoutBankUrl, payoutBankApiKey, settlementDir } = config.payments;
  const rail = payoutBankUrl !== null && payoutBankApiKey !== null ? new HttpBankRail({ baseUrl: payoutBankUrl, apiKey: payoutBankApiKey }) : null;
  const now = () => new Date();
  const events = createOutbox({ attemptsMax: config.payments.webhookAttemptsMax, now });
  return { deps: { db, ledger, box, rail, now, events }, ledger, settlementDir };
}

export const PAYMENTS_COMMANDS: readonly CliCommand[] = [
  {
    words: ['settlement', 'close'],
    usage: '[--date YYYY-MM-DD]',
    summary: 'close a business day (JST; default yesterday): settle every merchant, instruct payouts, write reconciliation CSVs',
    async run(db, args) {
      const date = dateArgument(args);
      if (date === null) {
        process.stderr.write('usage: koban settlement close [--date YYYY-MM-DD]\n');
        return 2;
      }
      const { deps, ledger, settlementDir } = await settlementDeps(db);
      const settlements = await closeBusinessDay(deps, date);
      for (const s of settlements) {
        const file = path.join(settlementDir, s.merchantId, `${date}.csv`);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, await reconciliationCsv(db, s.merchantId, date));
        process.stdout.write(`${s.merchantId} ${date}: gross ${s.grossMinor} refunds ${s.refundsMinor} fees ${s.feesMinor} net ${s.netMinor} payout ${s.payoutStatus}${s.payoutAmountMinor === null ? '' : ` ${s.payoutAmountMinor}`} → ${file}\n`);
      }
      if (settlements.length === 0) process.stdout.write(`${date}: no merchant activity\n`);
      await ledger.drain();
      return 0;
    },
  },
  {
    words: ['settlement', 'payouts'],
    summary: 'ask the bank what became of instructed payouts: mark paid ones, return failed ones to the merchant\'s payout account',
    async run(db, args) {
      if (args.length !== 0) {
        process.stderr.write('usage: koban settlement payouts\n');
        return 2;
      }
      const { deps, ledger } = await settlementDeps(db);
      if (deps.rail === null) {
        process.stderr.write('no payout bank configured (KOBAN_BANK_URL / KOBAN_BANK_API_KEY)\n');
        return 1;
      }
      const result = await reconcilePayouts(deps);
      process.stdout.write(`payouts checked ${result.checked}: paid ${result.paid}, returned ${result.returned}, still pending ${result.checked - result.paid - result.returned}\n`);
      await ledger.drain();
      return 0;
    },
  },
];

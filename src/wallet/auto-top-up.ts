/**
 * Auto top-up (issue 19): the customer sets a threshold, an amount and a source (an active bank account, or a
 * card that has passed 3-D Secure); when a payment leaves the prepaid balance below the threshold, a top-up of the
 * amount runs — **after** the payment's commit, never inside it: a job (one node, `wallet.auto-top-up` lease)
 * scans the enabled settings and reads each balance.
 *
 * Exactly once per crossing: `armed` is cleared in the same transaction that writes the run, and set again only
 * when a scan sees the balance at or above the threshold. The run's top-up uses the run id as its idempotency
 * key, so a crash after the run is written is resumed by the next scan without a second top-up.
 *
 * No customer is present, so no step-up can be asked: setting it up passes the same gate as a top-up of that
 * amount from that source (step-up and charge PIN), and each run is capped — at most `KOBAN_AUTO_TOP_UPS_PER_DAY`
 * runs in 24 hours, at most `KOBAN_AUTO_TOP_UP_MAX` each — and goes through the top-up risk check and limits.
 * Every run is announced; a run that fails or is refused turns auto top-up off and says so.
 */
import { verifiedContacts } from '../identity/contacts/contacts.ts';
import { customerLanguage } from '../identity/language.ts';
import { availableBalance } from '../ledger/types.ts';
import { addFeedEntry, enqueueMessage } from '../notifications/outbox.ts';
import type { RequestOrigin } from '../platform/audit/security-log.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { yenIn } from '../platform/language.ts';
import type { WalletDeps } from './deps.ts';
import { ownFundingSource, type FundingSourceRow } from './funding-sources.ts';
import type { WalletIdentity, WalletSession } from './identity-port.ts';
import { refuseUnlessAllowed } from './risk-port.ts';
import { advanceTopUp } from './settle.ts';
import { requestHash, writeTopUp, type TopUpRequest, type TopUpRow } from './top-ups.ts';

export interface AutoTopUpSettings {
  customer_id: string; funding_source_id: string; threshold_minor: bigint; amount_minor: bigint; enabled: boolean; armed: boolean;
  disabled_reason: string | null; updated_at: Date;
}

interface RunRow { id: string; customer_id: string; top_up_id: string | null; amount_minor: bigint; status: string; created_at: Date }

export const AUTO_TOP_UP_SCAN_MAX = 200;
export const AUTO_TOP_UP_THRESHOLD_MAX_MINOR = 100_000n;

export function isEligibleSource(source: FundingSourceRow): boolean {
  if (source.status !== 'active') return false;
  return source.kind === 'bank' || source.card_three_ds_verified_at !== null;
}

export async function readAutoTopUp(db: Queryable, customerId: string): Promise<AutoTopUpSettings | null> {
  const result = await db.query<AutoTopUpSettings>('select * from auto_top_up_settings where customer_id = $1', [customerId]);
  return result.rows[0] ?? null;
}

export interface AutoTopUpChange {
  readonly fundingSourceId: string; readonly thresholdMinor: bigint; readonly amountMinor: bigint; readonly enabled: boolean;
  readonly grant: string | undefined; readonly pin: string | undefined;
}

/** Turning it on (or changing it) passes identity's top-up gate for that amount and source; turning it off needs nothing. */
export async function setAutoTopUp(deps: WalletDeps, identity: WalletIdentity, session: WalletSession, change: AutoTopUpChange, origin: RequestOrigin | null): Promise<AutoTopUpSettings> {
  const customerId = session.customerId;
  const source = await ownFundingSource(deps.db.pool, customerId, change.fundingSourceId);
  if (change.enabled) {
    if (!isEligibleSource(source)) throw new KobanError('auto_top_up_source_not_eligible');
    if (change.amountMinor > deps.config.autoTopUp.amountMaxMinor) {
      throw new KobanError('validation_failed', { errors: [{ pointer: '/body/amount', message: `must be at most ${deps.config.autoTopUp.amountMaxMinor}` }] });
    }
    if (change.thresholdMinor > AUTO_TOP_UP_THRESHOLD_MAX_MINOR) {
      throw new KobanError('validation_failed', { errors: [{ pointer: '/body/threshold', message: `must be at most ${AUTO_TOP_UP_THRESHOLD_MAX_MINOR}` }] });
    }
    await identity.authorizeTopUp(session, { grant: change.grant, pin: change.pin, amountMinor: change.amountMinor, fundingSourceId: source.id }, origin);
  }
  const result = await deps.db.pool.query<AutoTopUpSettings>(
    `insert into auto_top_up_settings (customer_id, funding_source_id, threshold_minor, amount_minor, enabled, armed, disabled_reason, updated_at)
     values ($1, $2, $3, $4, $5, true, null, now())
     on conflict (customer_id) do update set funding_source_id = excluded.funding_source_id, threshold_minor = excluded.threshold_minor,
       amount_minor = excluded.amount_minor, enabled = excluded.enabled, armed = true, disabled_reason = null, updated_at = now()
     returning *`, [customerId, source.id, change.thresholdMinor, change.amountMinor, change.enabled]);
  const row = result.rows[0];
  assert(row !== undefined, 'auto top-up settings written');
  return row;
}

/** One scan: open runs are finished, then every enabled setting is checked against its balance. Returns the runs started. */
export async function runAutoTopUps(deps: WalletDeps): Promise<number> {
  await finishOpenRuns(deps);
  if (deps.switches !== null && !switchesOn(deps)) return 0;
  const settings = await deps.db.pool.query<AutoTopUpSettings & { account_id: string }>(
    `select s.*, w.account_id from auto_top_up_settings s join customer_wallets w on w.customer_id = s.customer_id where s.enabled order by s.customer_id limit $1`, [AUTO_TOP_UP_SCAN_MAX]);
  let started = 0;
  for (const setting of settings.rows) {
    const account = await deps.ledger.getAccount(setting.account_id);
    if (account === null || account.status !== 'active') continue;
    const balance = availableBalance(account);
    if (balance >= setting.threshold_minor) {
      if (!setting.armed) await deps.db.pool.query('update auto_top_up_settings set armed = true where customer_id = $1 and enabled and not armed', [setting.customer_id]);
      continue;
    }
    if (!setting.armed) continue;
    const run = await startRun(deps, setting);
    if (run === null) continue;
    started++;
    await carryRun(deps, run);
  }
  return started;
}

function switchesOn(deps: WalletDeps): boolean {
  try {
    deps.switches?.assertOn('top_ups');
    deps.switches?.assertOn('top_ups.auto');
    return true;
  } catch {
    return false;
  }
}

/** The crossing, claimed once: disarm and write the run together (or refuse it at the daily cap, also once). */
async function startRun(deps: WalletDeps, setting: AutoTopUpSettings): Promise<RunRow | null> {
  return withTransaction(deps.db, async (client) => {
    const disarmed = await client.query('update auto_top_up_settings set armed = false where customer_id = $1 and enabled and armed', [setting.customer_id]);
    if (disarmed.rowCount !== 1) return null;
    const today = await client.query<{ n: number }>(
      `select count(*)::int as n from auto_top_up_runs where customer_id = $1 and status <> 'refused' and created_at > now() - interval '24 hours'`, [setting.customer_id]);
    const capped = (today.rows[0]?.n ?? 0) >= deps.config.autoTopUp.perDayMax;
    const inserted = await client.query<RunRow>(
      `insert into auto_top_up_runs (id, customer_id, amount_minor, status, failure_code, created_at) values ($1, $2, $3, $4, $5, now()) returning *`,
      [uuidv7(), setting.customer_id, setting.amount_minor, capped ? 'refused' : 'started', capped ? 'daily_cap' : null]);
    const run = inserted.rows[0];
    assert(run !== undefined, 'run written');
    if (capped) {
      await announce(client, setting.customer_id, 'auto_top_up_skipped', (ja) => ja
        ? `本日のオートチャージは上限（${deps.config.autoTopUp.perDayMax}回）に達したため、${yenIn('ja', setting.amount_minor)}のオートチャージを行いませんでした。`
        : `Auto top-up of ${yenIn('en', setting.amount_minor)} skipped: today's limit of ${deps.config.autoTopUp.perDayMax} auto top-ups is reached.`);
      return null;
    }
    return run;
  });
}

/** Starts (or resumes, by its idempotency key) the run's top-up and records what became of it. */
async function carryRun(deps: WalletDeps, run: RunRow): Promise<void> {
  const settings = await readAutoTopUp(deps.db.pool, run.customer_id);
  let topUp: TopUpRow;
  try {
    if (settings === null) throw new KobanError('funding_source_not_found');
    const source = await ownFundingSource(deps.db.pool, run.customer_id, settings.funding_source_id);
    if (!isEligibleSource(source)) throw new KobanError('auto_top_up_source_not_eligible');
    const request: TopUpRequest = { idempotencyKey: `auto-${run.id}`, fundingSourceId: source.id, amountMinor: run.amount_minor, threeDSecure: false, grant: undefined, pin: undefined };
    deps.switches?.assertOn(source.kind === 'card' ? 'funding.card' : 'funding.bank');
    await refuseUnlessAllowed(deps.risk, { kind: 'top_up', accountId: run.customer_id, deviceId: null, ip: null, amountMinor: run.amount_minor,
      cardRef: source.card_fingerprint ?? (source.bank_mandate_id === null ? null : `bank:${source.bank_mandate_id}`) });
    const written = await writeTopUp(deps, run.customer_id, request, requestHash(request), source);
    await deps.db.pool.query('update auto_top_up_runs set top_up_id = $2 where id = $1 and top_up_id is null', [run.id, written.topUp.id]);
    topUp = (await advanceTopUp(deps, written.topUp.id)) ?? written.topUp;
  } catch (error) {
    if (!(error instanceof KobanError)) throw error;
    await failRun(deps, run, error.code);
    return;
  }
  await settleRun(deps, run, topUp);
}

async function settleRun(deps: WalletDeps, run: RunRow, topUp: TopUpRow): Promise<void> {
  // A card the acquirer wants to challenge cannot be answered by nobody: that is a failure here.
  if (topUp.status === 'requires_action') return failRun(deps, run, 'three_ds_required');
  if (topUp.status === 'failed') return failRun(deps, run, topUp.failure_code ?? 'top_up_failed');
  if (topUp.status !== 'completed') return;
  await withTransaction(deps.db, async (client) => {
    const done = await client.query(`update auto_top_up_runs set status = 'completed' where id = $1 and status = 'started'`, [run.id]);
    if (done.rowCount !== 1) return;
    await announce(client, run.customer_id, 'auto_top_up_completed', (ja) => ja
      ? `残高がオートチャージの基準を下回ったため、${yenIn('ja', run.amount_minor)}をオートチャージしました。`
      : `Your balance fell below your auto top-up threshold: ${yenIn('en', run.amount_minor)} was topped up automatically.`);
  });
}

async function failRun(deps: WalletDeps, run: RunRow, reason: string): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    const failed = await client.query(`update auto_top_up_runs set status = 'failed', failure_code = $2 where id = $1 and status = 'started'`, [run.id, reason.slice(0, 64)]);
    if (failed.rowCount !== 1) return;
    await client.query(`update auto_top_up_settings set enabled = false, disabled_reason = $2, updated_at = now() where customer_id = $1`, [run.customer_id, reason.slice(0, 64)]);
    await announce(client, run.customer_id, 'auto_top_up_disabled', (ja) => ja
      ? `${yenIn('ja', run.amount_minor)}のオートチャージができなかったため、オートチャージをオフにしました（理由: ${reason}）。設定画面で確認してください。`
      : `The auto top-up of ${yenIn('en', run.amount_minor)} did not go through (${reason}), so auto top-up is now off. Check it in your settings.`);
  });
}

/** Runs whose top-up was still with the provider (or not yet written, after a crash) are carried on. */
async function finishOpenRuns(deps: WalletDeps): Promise<void> {
  const open = await deps.db.pool.query<RunRow>(`select * from auto_top_up_runs where status = 'started' order by created_at limit $1`, [AUTO_TOP_UP_SCAN_MAX]);
  for (const run of open.rows) await carryRun(deps, run);
}

async function announce(client: Queryable, customerId: string, kind: string, text: (ja: boolean) => string): Promise<void> {
  const language = await customerLanguage(client, customerId);
  const body = text(language === 'ja');
  const title = language === 'ja' ? 'オートチャージ' : 'Auto top-up';
  await addFeedEntry(client, customerId, { kind, title, body });
  for (const contact of await verifiedContacts(client, customerId)) {
    if (contact.kind === 'email') await enqueueMessage(client, { channel: 'email', recipient: contact.value, kind, subject: `Koban${language === 'ja' ? '：' : ': '}${title}`, body });
  }
}

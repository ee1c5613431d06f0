/**
 * Moving a top-up forward from what the provider says, never from what a caller or a webhook claims (WH-03).
 * Every path — the inline answer, the 3-D Secure return, a webhook, the reconciler — calls `advanceTopUp`,
 * which reads the provider's resource and acts on it. Provider calls reuse one Idempotency-Key per step, the
 * credit reuses one ledger transfer id, and the final status is written under a row lock, so any number of
 * concurrent or repeated confirmations credit once and finish the top-up once.
 */
import { isSuccess, Ledgers, TransferCodes } from '../ledger/types.ts';
import { withTransaction } from '../platform/db/database.ts';
import type { WalletDeps } from './deps.ts';
import type { Authorization } from './funding/acquirer.ts';
import type { Debit } from './funding/bank.ts';
import type { ProviderError } from './funding/provider-result.ts';
import { loadFundingSource, markCardThreeDsVerified, recordFailure, type FundingSourceRow } from './funding-sources.ts';
import { announceTopUp } from './notify.ts';
import { PLATFORM_ACCOUNTS } from '../ledger/platform-accounts.ts';
import { loadTopUp, type TopUpRow } from './top-ups.ts';

/** What to do after one step: look again (the state changed), or wait for the provider. */
type Step = 'again' | 'wait';
const STEPS_MAX = 4;

export function providerKey(topUpId: string, step: 'authorize' | 'capture' | 'void' | 'debit'): string {
  return `koban-top-up-${topUpId}-${step}`;
}

export function threeDsReturnUrl(publicUrl: string, topUpId: string): string {
  return new URL(`/v1/top-ups/${topUpId}/3ds-return`, publicUrl).toString();
}

const isOpen = (row: TopUpRow): boolean => row.status === 'processing' || row.status === 'requires_action';

/**
 * A refusal that decides the top-up. The provider refusing a key another of Koban's paths is still using
 * (a webhook and the reconciler at once) says nothing about the money: look again later.
 */
function decisiveRefusal(error: ProviderError): error is Extract<ProviderError, { kind: 'rejected' }> {
  return error.kind === 'rejected' && error.code !== 'idempotency_request_in_progress' && error.code !== 'idempotency_key_reused';
}

export async function advanceTopUp(deps: WalletDeps, topUpId: string): Promise<TopUpRow | null> {
  for (let step = 0; step < STEPS_MAX; step++) {
    const row = await loadTopUp(deps.db.pool, topUpId);
    if (row === null || !isOpen(row)) return row;
    const source = await loadFundingSource(deps.db.pool, row.funding_source_id);
    if (source === null) throw new Error(`top-up ${row.id} has no funding source`);
    const next = row.kind === 'card' ? await stepCard(deps, row, source) : await stepBank(deps, row, source);
    if (next === 'wait') break;
  }
  return loadTopUp(deps.db.pool, topUpId);
}

async function setProviderRef(deps: WalletDeps, topUpId: string, ref: string): Promise<void> {
  await deps.db.pool.query('update top_ups set provider_ref = $2, updated_at = now() where id = $1 and provider_ref is null', [topUpId, ref]);
}

async function stepCard(deps: WalletDeps, row: TopUpRow, source: FundingSourceRow): Promise<Step> {
  const acquirer = deps.acquirer;
  if (acquirer === null || source.card_token === null) return 'wait';
  if (row.provider_ref === null) {
    const challenge = row.three_ds && source.card_three_ds_verified_at === null ? 'challenge' : 'automatic';
    const authorized = await acquirer.authorize({
      token: source.card_token, amountMinor: row.amount_minor, reference: row.id, returnUrl: threeDsReturnUrl(deps.publicUrl, row.id),
      requestThreeDSecure: challenge, idempotencyKey: providerKey(row.id, 'authorize'),
    });
    if (!authorized.ok) {
      if (decisiveRefusal(authorized.error)) await finishTopUp(deps, row.id, 'failed', authorized.error.declineCode ?? authorized.error.code);
      return 'wait';
    }
    await setProviderRef(deps, row.id, authorized.value.id);
    return applyAuthorization(deps, row, source, authorized.value, true);
  }
  const fetched = await acquirer.getAuthorization(row.provider_ref);
  return fetched.ok ? applyAuthorization(deps, row, source, fetched.value, true) : 'wait';
}

async function applyAuthorization(deps: WalletDeps, row: TopUpRow, source: FundingSourceRow, auth: Authorization, mayCapture: boolean): Promise<Step> {
  if (auth.reference !== row.id || auth.amountMinor !== row.amount_minor || (row.provider_ref !== null && auth.id !== row.provider_ref)) {
    deps.log.error({ topUpId: row.id, authorizationId: auth.id }, 'the acquirer answered with another authorization; nothing moved');
    return 'wait';
  }
  if (auth.challenge?.status === 'succeeded' && (auth.status === 'authorized' || auth.status === 'captured')) await markCardThreeDsVerified(deps.db.pool, source.id);
  switch (auth.status) {
    case 'requires_challenge':
      await deps.db.pool.query(
        `update top_ups set status = 'requires_action', challenge_url = $2, updated_at = now() where id = $1 and status = 'processing'`, [row.id, auth.challenge?.url ?? null]);
      return 'wait';
    case 'authorized': {
      if (!mayCapture || deps.acquirer === null) return 'wait';
      const captured = await deps.acquirer.capture({ authorizationId: auth.id, idempotencyKey: providerKey(row.id, 'capture') });
      if (captured.ok) return applyAuthorization(deps, row, source, captured.value, false);
      // Refused (voided meanwhile, say): read the truth again; unknown: the reconciler asks later.
      return captured.error.kind === 'rejected' ? 'again' : 'wait';
    }
    case 'captured':
      if (auth.capturedAmountMinor !== row.amount_minor) {
        deps.log.error({ topUpId: row.id, authorizationId: auth.id }, 'captured amount differs from the top-up; nothing credited');
        return 'wait';
      }
      await creditTopUp(deps, row.id);
      return 'again';
    case 'declined':
      if (auth.declineCode === 'authentication_failed' || auth.declineCode === 'authentication_expired') await recordFailure(deps.db.pool, row.customer_id, 'three_ds_failed', source.id);
      await finishTopUp(deps, row.id, 'failed', auth.declineCode ?? 'declined');
      return 'wait';
    case 'voided':
      await finishTopUp(deps, row.id, 'failed', 'voided');
      return 'wait';
  }
}

async function stepBank(deps: WalletDeps, row: TopUpRow, source: FundingSourceRow): Promise<Step> {
  const bank = deps.bank;
  if (bank === null || source.bank_mandate_id === null) return 'wait';
  if (row.provider_ref === null) {
    const debited = await bank.debit({ mandateId: source.bank_mandate_id, amountMinor: row.amount_minor, reference: row.id, idempotencyKey: providerKey(row.id, 'debit') });
    if (!debited.ok) {
      if (decisiveRefusal(debited.error)) await finishTopUp(deps, row.id, 'failed', debited.error.code);
      return 'wait';
    }
    await setProviderRef(deps, row.id, debited.value.id);
    return applyDebit(deps, row, source, debited.value);
  }
  const fetched = await bank.getDebit(row.provider_ref);
  return fetched.ok ? applyDebit(deps, row, source, fetched.value) : 'wait';
}

async function applyDebit(deps: WalletDeps, row: TopUpRow, source: FundingSourceRow, debit: Debit): Promise<Step> {
  if (debit.reference !== row.id || debit.amountMinor !== row.amount_minor || debit.mandateId !== source.bank_mandate_id) {
    deps.log.error({ topUpId: row.id, debitId: debit.id }, 'the bank answered with another debit; nothing moved');
    return 'wait';
  }
  if (debit.status === 'succeeded') {
    await creditTopUp(deps, row.id);
    return 'again';
  }
  await finishTopUp(deps, row.id, 'failed', debit.failureCode ?? 'debit_failed');
  return 'wait';
}

/**
 * Credits the wallet with the deterministic transfer id. The ledger writes on its own connection, so the
 * credit cannot sit inside the transaction that holds the top-up row: first the row is claimed for the
 * credit (under its lock, only while it is open), then the ledger credits (idempotent by id), then the row
 * is finished under its lock again. A claimed row is never failed by another path (`finishTopUp` leaves
 * it), so a concurrent "failed" and this credit cannot both win; a crash after the claim is repaired by
 * the next confirmation or the reconciler, which credit again under the same id.
 */
export async function creditTopUp(deps: WalletDeps, topUpId: string): Promise<void> {
  await deps.creditGate.run(async () => {
    const claimed = await withTransaction(deps.db, (client) => claimCredit(deps, client, topUpId));
    if (claimed === null) return;
    const [result] = await deps.ledger.createTransfers([{
      id: claimed.ledger_transfer_id, debitAccountId: claimed.kind === 'card' ? PLATFORM_ACCOUNTS.cardClearing : PLATFORM_ACCOUNTS.bankClearing, creditAccountId: claimed.wallet_account_id, amount: claimed.amount_minor,
      pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: `top-up:${claimed.id}`,
    }]);
    const credited = result !== undefined && isSuccess(result.result);
    if (!credited) deps.log.error({ topUpId, result: result?.result }, 'the ledger refused a confirmed top-up: refund it at the provider');
    await withTransaction(deps.db, async (client) => {
      const row = await loadTopUp(client, topUpId, true);
      if (row === null || !isOpen(row)) return; // a concurrent credit of the same top-up finished it
      await finishLocked(client, row, credited ? 'completed' : 'failed', credited ? null : `ledger_${result?.result ?? 'unknown'}`);
    });
  });
}

async function claimCredit(deps: WalletDeps, client: Parameters<typeof loadTopUp>[0], topUpId: string): Promise<TopUpRow | null> {
  const row = await loadTopUp(client, topUpId, true);
  if (row === null || !isOpen(row)) {
    if (row?.status === 'failed') deps.log.error({ topUpId }, 'the provider confirmed funds for a top-up Koban had already failed: refund it at the provider');
    return null;
  }
  if (row.credit_claimed_at === null) await client.query('update top_ups set credit_claimed_at = now(), updated_at = now() where id = $1', [topUpId]);
  return row;
}

/** Finishes an open top-up; a "failed" never overrides a credit already under way (see `creditTopUp`). */
export async function finishTopUp(deps: WalletDeps, topUpId: string, status: 'completed' | 'failed', failureCode: string | null): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    const row = await loadTopUp(client, topUpId, true);
    if (row === null || !isOpen(row)) return;
    if (status === 'failed' && row.credit_claimed_at !== null) {
      deps.log.warn({ topUpId, failureCode }, 'not failing a top-up whose confirmed funds are being credited');
      return;
    }
    await finishLocked(client, row, status, failureCode);
  });
}

async function finishLocked(client: Parameters<typeof loadTopUp>[0], row: TopUpRow, status: 'completed' | 'failed', failureCode: string | null): Promise<void> {
  const updated = await client.query<TopUpRow>(
    `update top_ups set status = $2, failure_code = $3, finished_at = now(), updated_at = now() where id = $1 and status in ('processing', 'requires_action') returning *`,
    [row.id, status, failureCode]);
  const finished = updated.rows[0];
  if (finished === undefined) return;
  await announceTopUp(client, finished, await loadFundingSource(client, finished.funding_source_id));
}

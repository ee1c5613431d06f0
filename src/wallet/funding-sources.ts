/**
 * Funding sources: cards tokenised by the acquirer and bank accounts under a direct-debit mandate. Koban keeps
 * the token, brand, last four digits, expiry, fingerprint and 3-D Secure capability of a card, never its number
 * or CVV (PCI-01/02); of a bank account only the last four digits. Adding one needs a fresh step-up
 * (`add_funding_source`), is refused during the recovery cool-down, and is bounded per customer (cards per
 * account, wrong CVVs per day: LED-07 and the 2019 Payments Japan guideline).
 */
import { withTransaction, sqlState, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { lockCustomerWallet } from './customer-lock.ts';
import type { WalletDeps } from './deps.ts';
import type { CardDetails } from './funding/acquirer.ts';
import type { BankAccountDetails } from './funding/bank.ts';
import type { ProviderError } from './funding/provider-result.ts';
import type { WalletIdentity, WalletSession } from './identity-port.ts';
import { refuseUnlessAllowed } from './risk-port.ts';
import type { RequestOrigin } from '../platform/audit/security-log.ts';

export type FundingKind = 'card' | 'bank';
export type FundingStatus = 'pending_confirmation' | 'active' | 'failed' | 'removed';

export interface FundingSourceRow {
  id: string;
  customer_id: string;
  kind: FundingKind;
  status: FundingStatus;
  card_token: string | null;
  card_brand: string | null;
  card_last4: string | null;
  card_exp_month: number | null;
  card_exp_year: number | null;
  card_fingerprint: string | null;
  card_three_ds: 'required' | 'optional' | null;
  card_three_ds_verified_at: Date | null;
  bank_mandate_id: string | null;
  bank_code: string | null;
  bank_branch_code: string | null;
  bank_account_type: 'ordinary' | 'current' | null;
  bank_account_last4: string | null;
  bank_holder_name_kana: string | null;
  failure_code: string | null;
  created_at: Date;
}

export const FUNDING_SOURCES_LIST_MAX = 50;
const DAY_MS = 24 * 60 * 60 * 1000;

export function fundingSourceView(row: FundingSourceRow) {
  return {
    fundingSourceId: row.id, kind: row.kind, status: row.status, createdAt: row.created_at.toISOString(),
    card: row.kind !== 'card' ? null : {
      brand: row.card_brand, last4: row.card_last4, expMonth: row.card_exp_month, expYear: row.card_exp_year,
      threeDSecure: row.card_three_ds, threeDSecureVerified: row.card_three_ds_verified_at !== null,
    },
    bankAccount: row.kind !== 'bank' ? null : {
      bankCode: row.bank_code, branchCode: row.bank_branch_code, accountType: row.bank_account_type,
      accountNumberLast4: row.bank_account_last4, holderNameKana: row.bank_holder_name_kana,
    },
  };
}

export async function loadFundingSource(db: Queryable, id: string): Promise<FundingSourceRow | null> {
  const result = await db.query<FundingSourceRow>('select * from funding_sources where id = $1', [id]);
  return result.rows[0] ?? null;
}

/** The customer's own source, or 404 — another customer's id answers exactly like an unknown one. */
export async function ownFundingSource(db: Queryable, customerId: string, id: string): Promise<FundingSourceRow> {
  const row = await loadFundingSource(db, id);
  if (row === null || row.customer_id !== customerId || row.status === 'removed') throw new KobanError('funding_source_not_found');
  return row;
}

export async function listFundingSources(db: Queryable, customerId: string): Promise<FundingSourceRow[]> {
  const result = await db.query<FundingSourceRow>(
    `select * from funding_sources where customer_id = $1 and status in ('pending_confirmation', 'active') order by created_at limit $2`,
    [customerId, FUNDING_SOURCES_LIST_MAX],
  );
  return result.rows;
}

export async function recentFailures(db: Queryable, where: { customerId: string; kind: string; fundingSourceId?: string }): Promise<number> {
  const result = await db.query<{ n: number }>(
    `select count(*)::int as n from funding_failures
     where customer_id = $1 and kind = $2 and ($3::uuid is null or funding_source_id = $3) and created_at > now() - make_interval(secs => $4::double precision / 1000)`,
    [where.customerId, where.kind, where.fundingSourceId ?? null, DAY_MS],
  );
  return result.rows[0]?.n ?? 0;
}

export async function recordFailure(db: Queryable, customerId: string, kind: 'cvv_incorrect' | 'three_ds_failed' | 'bank_code_incorrect' | 'card_rejected', fundingSourceId: string | null = null): Promise<void> {
  await db.query('insert into funding_failures (id, customer_id, funding_source_id, kind) values ($1, $2, $3, $4)', [uuidv7(), customerId, fundingSourceId, kind]);
}

async function countLive(db: Queryable, customerId: string, kind: FundingKind): Promise<number> {
  const result = await db.query<{ n: number }>(
    `select count(*)::int as n from funding_sources where customer_id = $1 and kind = $2 and status in ('pending_confirmation', 'active')`, [customerId, kind]);
  return result.rows[0]?.n ?? 0;
}

async function refuseBeforeAdding(deps: WalletDeps, identity: WalletIdentity, customerId: string, kind: FundingKind): Promise<void> {
  if (await identity.isInRecoveryCooldown(customerId)) throw new KobanError('recovery_cooldown');
  const max = kind === 'card' ? deps.config.cardsPerCustomerMax : deps.config.bankAccountsPerCustomerMax;
  if (await countLive(deps.db.pool, customerId, kind) >= max) {
    throw new KobanError('funding_source_limit_reached', { extensions: { kind, max } });
  }
}

function providerUnavailable(error: ProviderError): KobanError {
  return new KobanError('funding_provider_unavailable', { detail: error.kind === 'outcome_unknown' ? `the provider did not answer (${error.reason})` : undefined });
}

export async function addCard(deps: WalletDeps, identity: WalletIdentity, session: WalletSession, card: CardDetails, grant: string | undefined, origin: RequestOrigin | null = null): Promise<FundingSourceRow> {
  const acquirer = deps.acquirer;
  if (acquirer === null) throw new KobanError('funding_unavailable', { detail: 'no card acquirer is configured' });
  deps.switches?.assertOn('funding.card');
  const customerId = session.customerId;
  await refuseBeforeAdding(deps, identity, customerId, 'card');
  if (await recentFailures(deps.db.pool, { customerId, kind: 'cvv_incorrect' }) >= deps.config.cvvFailuresMax) throw new KobanError('card_attempts_exceeded');
  // The grant is consumed before the card is tried: every CVV guess costs a fresh second factor.
  await identity.requireStepUp(deps.db.pool, session, grant, 'add_funding_source', { kind: 'card', last4: card.number.slice(-4) });
  const tokenized = await acquirer.tokenize({ card, idempotencyKey: `koban-card-${uuidv7()}` });
  if (!tokenized.ok) {
    const error = tokenized.error;
    if (error.kind === 'outcome_unknown') throw providerUnavailable(error);
    await recordFailure(deps.db.pool, customerId, error.code === 'incorrect_cvc' ? 'cvv_incorrect' : 'card_rejected');
    throw new KobanError('card_rejected', { extensions: { reason: error.declineCode ?? error.code } });
  }
  const token = tokenized.value;
  await refuseUnlessAllowed(deps.risk, { kind: 'funding_source_add', accountId: customerId, deviceId: session.deviceKey ?? session.deviceId, ip: origin?.ip ?? null, cardRef: token.fingerprint });
  const id = uuidv7();
  try {
    return await withTransaction(deps.db, async (client) => {
      await lockCustomerWallet(client, customerId);
      if (await countLive(client, customerId, 'card') >= deps.config.cardsPerCustomerMax) throw new KobanError('funding_source_limit_reached', { extensions: { kind: 'card', max: deps.config.cardsPerCustomerMax } });
      const inserted = await client.query<FundingSourceRow>(
        `insert into funding_sources (id, customer_id, kind, status, card_token, card_brand, card_last4, card_exp_month, card_exp_year, card_fingerprint, card_three_ds)
         values ($1, $2, 'card', 'active', $3, $4, $5, $6, $7, $8, $9) returning *`,
        [id, customerId, token.token, token.brand, token.last4, token.expMonth, token.expYear, token.fingerprint, token.threeDSecure],
      );
      await client.query(
        `insert into card_fingerprint_sightings (fingerprint, customer_id) values ($1, $2)
         on conflict (fingerprint, customer_id) do update set last_seen_at = now()`, [token.fingerprint, customerId]);
      const row = inserted.rows[0];
      if (row === undefined) throw new Error('funding source insert returned nothing');
      return row;
    });
  } catch (error) {
    if (sqlState(error) === '23505') throw new KobanError('funding_source_exists');
    throw error;
  }
}

/** How many customers a card fingerprint was seen on: the risk engine's "one card across many accounts". */
export async function customersSharingCard(db: Queryable, fingerprint: string): Promise<number> {
  const result = await db.query<{ n: number }>('select count(*)::int as n from card_fingerprint_sightings where fingerprint = $1', [fingerprint]);
  return result.rows[0]?.n ?? 0;
}

export async function addBankAccount(deps: WalletDeps, identity: WalletIdentity, session: WalletSession, account: BankAccountDetails, grant: string | undefined, origin: RequestOrigin | null = null): Promise<FundingSourceRow> {
  const bank = deps.bank;
  if (bank === null) throw new KobanError('funding_unavailable', { detail: 'no bank is configured' });
  deps.switches?.assertOn('funding.bank');
  const customerId = session.customerId;
  await refuseBeforeAdding(deps, identity, customerId, 'bank');
  await identity.requireStepUp(deps.db.pool, session, grant, 'add_funding_source', { kind: 'bank', last4: account.accountNumber.slice(-4) });
  await refuseUnlessAllowed(deps.risk, { kind: 'funding_source_add', accountId: customerId, deviceId: session.deviceKey ?? session.deviceId, ip: origin?.ip ?? null });
  const created = await bank.createMandate({ ...account, idempotencyKey: `koban-mandate-${uuidv7()}` });
  if (!created.ok) {
    if (created.error.kind === 'outcome_unknown') throw providerUnavailable(created.error);
    throw new KobanError('bank_account_rejected', { extensions: { reason: created.error.code } });
  }
  const mandate = created.value;
  if (mandate.status !== 'pending_confirmation') throw new KobanError('bank_account_rejected', { extensions: { reason: mandate.failureCode ?? mandate.status } });
  const inserted = await deps.db.pool.query<FundingSourceRow>(
    `insert into funding_sources (id, customer_id, kind, status, bank_mandate_id, bank_code, bank_branch_code, bank_account_type, bank_account_last4, bank_holder_name_kana)
     values ($1, $2, 'bank', 'pending_confirmation', $3, $4, $5, $6, $7, $8) returning *`,
    [uuidv7(), customerId, mandate.id, mandate.bankCode, mandate.branchCode, mandate.accountType, mandate.accountNumberLast4, mandate.holderNameKana],
  );
  const row = inserted.rows[0];
  if (row === undefined) throw new Error('funding source insert returned nothing');
  return row;
}

/** Relays the code the bank sent the account holder; Koban never learns it any other way. */
export async function confirmBankAccount(deps: WalletDeps, customerId: string, fundingSourceId: string, code: string): Promise<FundingSourceRow> {
  const bank = deps.bank;
  if (bank === null) throw new KobanError('funding_unavailable', { detail: 'no bank is configured' });
  const source = await ownFundingSource(deps.db.pool, customerId, fundingSourceId);
  if (source.kind !== 'bank' || source.status !== 'pending_confirmation' || source.bank_mandate_id === null) throw new KobanError('funding_source_not_active');
  const confirmed = await bank.confirmMandate({ mandateId: source.bank_mandate_id, code, idempotencyKey: `koban-mandate-confirm-${uuidv7()}` });
  if (!confirmed.ok) {
    const error = confirmed.error;
    if (error.kind === 'outcome_unknown') throw providerUnavailable(error);
    await recordFailure(deps.db.pool, customerId, 'bank_code_incorrect', source.id);
    if (error.code === 'incorrect_otp') throw new KobanError('bank_code_incorrect');
    await setStatus(deps.db.pool, source.id, 'failed', error.code);
    throw new KobanError('bank_account_rejected', { extensions: { reason: error.code } });
  }
  if (confirmed.value.status !== 'active') {
    await setStatus(deps.db.pool, source.id, 'failed', confirmed.value.failureCode ?? confirmed.value.status);
    throw new KobanError('bank_account_rejected', { extensions: { reason: confirmed.value.failureCode ?? confirmed.value.status } });
  }
  return setStatus(deps.db.pool, source.id, 'active', null);
}

async function setStatus(db: Queryable, id: string, status: FundingStatus, failureCode: string | null): Promise<FundingSourceRow> {
  const result = await db.query<FundingSourceRow>(
    `update funding_sources set status = $2, failure_code = $3, removed_at = case when $2 = 'removed' then now() else removed_at end where id = $1 returning *`,
    [id, status, failureCode]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('funding_source_not_found');
  return row;
}

export async function removeFundingSource(deps: WalletDeps, customerId: string, fundingSourceId: string): Promise<void> {
  const source = await ownFundingSource(deps.db.pool, customerId, fundingSourceId);
  await setStatus(deps.db.pool, source.id, 'removed', null);
}

/** The bank told Koban (by webhook, re-fetched) that a mandate became active or failed. */
export async function applyMandateStatus(db: Queryable, mandateId: string, status: 'active' | 'failed', failureCode: string | null): Promise<void> {
  await db.query(
    `update funding_sources set status = $2, failure_code = $3 where bank_mandate_id = $1 and kind = 'bank' and status = 'pending_confirmation'`,
    [mandateId, status, failureCode]);
}

export async function markCardThreeDsVerified(db: Queryable, fundingSourceId: string): Promise<void> {
  await db.query('update funding_sources set card_three_ds_verified_at = now() where id = $1 and card_three_ds_verified_at is null', [fundingSourceId]);
}

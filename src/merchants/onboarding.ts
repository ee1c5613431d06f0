/**
 * A merchant's life: application → operator review (approve, reject with a reason, ask for more; four eyes
 * above a configured expected monthly volume) → active ⇄ suspended → closed. Suspending a merchant (or one
 * store, stores.ts) stops every payment surface at once: the payment pipeline re-reads the merchant's and
 * the store's state on every payment, uncached (standing.ts). A payout hold keeps settled money in the
 * merchant's payout account (210) until it is lifted. Every change is audited in its own transaction.
 */
import { hitCounter } from '../identity/login/throttle.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { ownedAccountId } from '../ledger/owned-accounts.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../ledger/types.ts';
import { recordAudit, type AuditActor } from '../operations/audit/audit-log.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { setMerchantPayoutAccount, type PayoutBankAccount } from './payout-accounts.ts';
import type { SecretBox } from './secret-box.ts';
import { insertStaffUser, normaliseStaffEmail, type NewStaffSecrets, type StaffRequestContext } from './staff.ts';

export interface MerchantsDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly box: SecretBox;
  readonly now: () => Date;
  /** Applications expecting more than this per month need two different operators to approve. */
  readonly fourEyesAboveMinor: bigint;
}

export interface MerchantApplication {
  readonly nameJa: string; readonly nameLatin: string; readonly corporateNumber: string; readonly representative: string;
  readonly address: string; readonly contactEmail: string; readonly contactPhone: string; readonly categoryCode: string;
  readonly expectedMonthlyVolumeMinor: bigint; readonly bank: PayoutBankAccount;
  readonly owner: { readonly email: string; readonly displayName: string; readonly password: string };
}

export type MerchantStatus = 'applied' | 'active' | 'suspended' | 'closed';
export type ReviewState = 'pending' | 'more_info_requested' | 'approved' | 'rejected';

export interface MerchantProfile {
  readonly id: string; readonly name: string; readonly nameLatin: string | null; readonly categoryCode: string; readonly status: MerchantStatus;
  readonly corporateNumber: string | null; readonly representative: string | null; readonly address: string | null;
  readonly contactEmail: string | null; readonly contactPhone: string | null; readonly expectedMonthlyVolumeMinor: bigint | null;
  readonly reviewState: ReviewState | null; readonly reviewNote: string | null; readonly firstApprovedBy: string | null;
  readonly statusReason: string | null; readonly statusChangedAt: Date | null; readonly payoutsHeld: boolean;
  readonly appliedAt: Date | null; readonly createdAt: Date;
}

const REASON_MAX = 2000;
export const APPLICATIONS_PER_IP = { max: 5, windowMs: 60 * 60_000 } as const;
const requireReason = (reason: string): string => {
  const trimmed = reason.trim();
  if (trimmed.length === 0 || trimmed.length > REASON_MAX) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/reason', message: `is required (1–${REASON_MAX} characters)` }] });
  return trimmed;
};
const contextOf = (context: StaffRequestContext | null) => ({ ip: context?.ip ?? null, requestId: context?.requestId ?? null });

export function validateApplication(application: Omit<MerchantApplication, 'bank' | 'owner'>): void {
  const problems: { pointer: string; message: string }[] = [];
  if (application.nameJa.trim().length === 0 || application.nameJa.length > 200) problems.push({ pointer: '/body/nameJa', message: 'is 1–200 characters' });
  if (!/^[\x20-\x7e]{1,25}$/.test(application.nameLatin)) problems.push({ pointer: '/body/nameLatin', message: 'is 1–25 printable Latin characters (the store QR tag 59)' });
  if (!/^[0-9]{13}$/.test(application.corporateNumber)) problems.push({ pointer: '/body/corporateNumber', message: 'is the 13-digit corporate number' });
  if (!/^[0-9]{4}$/.test(application.categoryCode)) problems.push({ pointer: '/body/categoryCode', message: 'is a 4-digit merchant category code' });
  if (application.expectedMonthlyVolumeMinor < 0n) problems.push({ pointer: '/body/expectedMonthlyVolume', message: 'is not negative' });
  if (application.representative.trim().length === 0 || application.representative.length > 200) problems.push({ pointer: '/body/representative', message: 'is 1–200 characters' });
  if (application.address.trim().length === 0 || application.address.length > 400) problems.push({ pointer: '/body/address', message: 'is 1–400 characters' });
  if (!/^\+?[0-9-]{3,31}$/.test(application.contactPhone)) problems.push({ pointer: '/body/contactPhone', message: 'is a phone number' });
  if (problems.length > 0) throw new KobanError('validation_failed', { errors: problems });
}

/**
 * A new merchant applies: the merchant row in `applied` (takes no payment), its receivable ledger account,
 * its payout bank account and its owner (password chosen by the applicant, authenticator secret shown once).
 */
export async function applyForMerchant(deps: MerchantsDeps, application: MerchantApplication, context: StaffRequestContext | null): Promise<{ merchantId: string; owner: NewStaffSecrets }> {
  validateApplication(application);
  // The form is public: one address may file a few applications an hour, not a flood of ledger accounts and password hashes.
  if (context?.ip != null && await hitCounter(deps.db.pool, `merchant_apply:ip:${context.ip}`, APPLICATIONS_PER_IP.windowMs) > APPLICATIONS_PER_IP.max) {
    throw new KobanError('rate_limited', { detail: 'too many applications from this address; try again later' });
  }
  normaliseStaffEmail(application.owner.email);
  const contactEmail = normaliseStaffEmail(application.contactEmail);
  const merchantId = uuidv7(deps.now().getTime());
  const receivable = ownedAccountId(AccountCodes.merchantReceivable, merchantId);
  await deps.ledger.createAccounts([{ id: receivable, ledger: Ledgers.JPY, code: AccountCodes.merchantReceivable, flags: AccountFlags.none, reference: `merchant:${merchantId}` }]);
  const owner = await withTransaction(deps.db, async (client) => {
    await client.query(
      `insert into merchants (id, name, name_latin, category_code, status, receivable_account_id, corporate_number, representative, business_address,
         contact_email, contact_phone, expected_monthly_volume_minor, review_state, applied_at, status_changed_at, created_at)
       values ($1, $2, $3, $4, 'applied', $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $12, $12)`,
      [merchantId, application.nameJa.trim(), application.nameLatin, application.categoryCode, receivable, application.corporateNumber, application.representative.trim(),
        application.address.trim(), contactEmail, application.contactPhone, application.expectedMonthlyVolumeMinor, deps.now()]);
    const secrets = await insertStaffUser(deps, client, { merchantId, email: application.owner.email, displayName: application.owner.displayName, role: 'owner', password: application.owner.password },
      { kind: 'system', id: 'merchant-application' }, context);
    await recordAudit(client, { actor: { kind: 'merchant_user', id: secrets.user.id }, action: 'merchant.applied', target: { kind: 'merchant', id: merchantId }, outcome: 'success',
      details: { name: application.nameJa, corporateNumber: application.corporateNumber, expectedMonthlyVolumeMinor: application.expectedMonthlyVolumeMinor }, ...contextOf(context) });
    return secrets;
  });
  // The bank account is sealed by payout-accounts.ts (its own statement; a crash here leaves an application an operator sees without one).
  await setMerchantPayoutAccount(deps.db, deps.box, merchantId, application.bank);
  return { merchantId, owner };
}

export type ReviewDecision = { readonly decision: 'approve'; readonly note?: string } | { readonly decision: 'reject'; readonly reason: string } | { readonly decision: 'ask_for_more'; readonly reason: string };

/**
 * An operator's decision on an application. Above the four-eyes volume the first approval is recorded and
 * a second, different operator must approve too. Only an application still in review can be decided.
 */
export async function reviewMerchant(deps: MerchantsDeps, merchantId: string, review: ReviewDecision, actor: AuditActor, context: StaffRequestContext | null): Promise<MerchantProfile> {
  return withTransaction(deps.db, async (client) => {
    const current = await lockMerchant(client, merchantId);
    if (current.status !== 'applied' || (current.reviewState !== 'pending' && current.reviewState !== 'more_info_requested')) {
      throw new KobanError('merchant_review_closed', { detail: `the merchant is ${current.status}${current.reviewState === null ? '' : `, review ${current.reviewState}`}` });
    }
    const who = `${actor.kind}:${actor.id}`;
    const audit = (action: string, details: Record<string, unknown>, reason: string | null) => recordAudit(client, { actor, action, target: { kind: 'merchant', id: merchantId }, reason, outcome: 'success', details, ...contextOf(context) });
    if (review.decision === 'reject' || review.decision === 'ask_for_more') {
      const reason = requireReason(review.reason);
      const rejected = review.decision === 'reject';
      await client.query(`update merchants set review_state = $2, review_note = $3, status = $4, status_reason = $5, status_changed_at = $6, first_approved_by = null where id = $1`,
        [merchantId, rejected ? 'rejected' : 'more_info_requested', reason, rejected ? 'closed' : 'applied', rejected ? reason : null, deps.now()]);
      await audit(rejected ? 'merchant.application_rejected' : 'merchant.application_more_info_requested', {}, reason);
      return readProfileWith(client, merchantId);
    }
    const needsTwo = (current.expectedMonthlyVolumeMinor ?? 0n) > deps.fourEyesAboveMinor;
    if (needsTwo && current.firstApprovedBy === null) {
      await client.query(`update merchants set first_approved_by = $2 where id = $1`, [merchantId, who]);
      await audit('merchant.application_first_approval', { fourEyesAboveMinor: deps.fourEyesAboveMinor, expectedMonthlyVolumeMinor: current.expectedMonthlyVolumeMinor }, review.note ?? null);
      return readProfileWith(client, merchantId);
    }
    if (needsTwo && current.firstApprovedBy === who) throw new KobanError('merchant_review_self_approval');
    await client.query(`update merchants set status = 'active', review_state = 'approved', review_note = $2, status_reason = null, status_changed_at = $3 where id = $1`,
      [merchantId, review.note ?? null, deps.now()]);
    await audit('merchant.application_approved', { secondApproval: needsTwo, firstApprovedBy: current.firstApprovedBy }, review.note ?? null);
    return readProfileWith(client, merchantId);
  });
}

const STATUS_MOVES: Record<'active' | 'suspended' | 'closed', readonly MerchantStatus[]> = {
  suspended: ['active'],
  active: ['suspended'],
  closed: ['active', 'suspended'],
};

/** Suspend, reactivate or close an approved merchant, with a reason; immediate on every payment surface (standing.ts reads it uncached). */
export async function setMerchantStatus(deps: MerchantsDeps, merchantId: string, status: 'active' | 'suspended' | 'closed', reason: string, actor: AuditActor, context: StaffRequestContext | null): Promise<MerchantProfile> {
  const why = requireReason(reason);
  return withTransaction(deps.db, async (client) => {
    const current = await lockMerchant(client, merchantId);
    if (current.status === status) return current;
    if (!STATUS_MOVES[status].includes(current.status)) throw new KobanError('merchant_state_conflict', { detail: `a ${current.status} merchant cannot become ${status}` });
    await client.query(`update merchants set status = $2, status_reason = $3, status_changed_at = $4 where id = $1`, [merchantId, status, why, deps.now()]);
    // A closed merchant's staff are signed out at once (a suspended merchant's may still look and refund).
    if (status === 'closed') {
      await client.query(`update merchant_user_sessions s set revoked_at = $2 from merchant_users u where u.id = s.user_id and u.merchant_id = $1 and s.revoked_at is null`, [merchantId, deps.now()]);
    }
    await recordAudit(client, { actor, action: `merchant.${status === 'active' ? 'reactivated' : status}`, target: { kind: 'merchant', id: merchantId }, reason: why, outcome: 'success',
      details: { from: current.status }, ...contextOf(context) });
    return readProfileWith(client, merchantId);
  });
}

/** Holds (or releases) the merchant's payouts: settlement still closes the days, but no money leaves for the bank while held. */
export async function setPayoutHold(deps: MerchantsDeps, merchantId: string, held: boolean, reason: string, actor: AuditActor, context: StaffRequestContext | null): Promise<MerchantProfile> {
  const why = requireReason(reason);
  return withTransaction(deps.db, async (client) => {
    await lockMerchant(client, merchantId);
    await client.query(`update merchants set payouts_held = $2 where id = $1`, [merchantId, held]);
    await recordAudit(client, { actor, action: held ? 'merchant.payouts_held' : 'merchant.payouts_released', target: { kind: 'merchant', id: merchantId }, reason: why, outcome: 'success', details: {}, ...contextOf(context) });
    return readProfileWith(client, merchantId);
  });
}

/** Settlement asks before it instructs a payout. */
export async function payoutsHeld(db: Database, merchantId: string): Promise<boolean> {
  const result = await db.pool.query<{ payouts_held: boolean }>('select payouts_held from merchants where id = $1', [merchantId]);
  return result.rows[0]?.payouts_held ?? false;
}

export async function readMerchantProfile(db: Database, merchantId: string): Promise<MerchantProfile> {
  return readProfileWith(db.pool, merchantId);
}

/** The review queue: applications waiting for an operator, oldest first. */
export async function listApplications(db: Database, limit = 100): Promise<MerchantProfile[]> {
  const result = await db.pool.query<ProfileRow>(`select ${PROFILE_COLUMNS} from merchants where status = 'applied' order by applied_at, id limit $1`, [Math.min(Math.max(limit, 1), 500)]);
  return result.rows.map(toProfile);
}

async function lockMerchant(client: Queryable, merchantId: string): Promise<MerchantProfile> {
  const result = await client.query<ProfileRow>(`select ${PROFILE_COLUMNS} from merchants where id = $1 for update`, [merchantId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('merchant_not_found');
  return toProfile(row);
}

async function readProfileWith(client: Queryable, merchantId: string): Promise<MerchantProfile> {
  const result = await client.query<ProfileRow>(`select ${PROFILE_COLUMNS} from merchants where id = $1`, [merchantId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('merchant_not_found');
  return toProfile(row);
}

interface ProfileRow {
  id: string; name: string; name_latin: string | null; category_code: string; status: MerchantStatus; corporate_number: string | null; representative: string | null;
  business_address: string | null; contact_email: string | null; contact_phone: string | null; expected_monthly_volume_minor: string | null;
  review_state: ReviewState | null; review_note: string | null; first_approved_by: string | null; status_reason: string | null; status_changed_at: Date | null;
  payouts_held: boolean; applied_at: Date | null; created_at: Date;
}
const PROFILE_COLUMNS = `id, name, name_latin, category_code, status, corporate_number, representative, business_address, contact_email, contact_phone,
  expected_monthly_volume_minor::text, review_state, review_note, first_approved_by, status_reason, status_changed_at, payouts_held, applied_at, created_at`;

function toProfile(row: ProfileRow): MerchantProfile {
  assert(row.id.length > 0, 'a merchant row has an id');
  return {
    id: row.id, name: row.name, nameLatin: row.name_latin, categoryCode: row.category_code, status: row.status, corporateNumber: row.corporate_number,
    representative: row.representative, address: row.business_address, contactEmail: row.contact_email, contactPhone: row.contact_phone,
    expectedMonthlyVolumeMinor: row.expected_monthly_volume_minor === null ? null : BigInt(row.expected_monthly_volume_minor),
    reviewState: row.review_state, reviewNote: row.review_note, firstApprovedBy: row.first_approved_by, statusReason: row.status_reason,
    statusChangedAt: row.status_changed_at, payoutsHeld: row.payouts_held, appliedAt: row.applied_at, createdAt: row.created_at,
  };
}

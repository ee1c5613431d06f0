/**
 * Applicant resubmission (issue 16): when an operator asks for more information (review `ask_for_more`), the
 * application's owner signs in to an applicant session (staff.ts), reads the request and resubmits the corrected
 * application with a reply. The merchant row takes the new fields, the review goes back to `pending` (the
 * queue shows it again) and every version is kept (`merchant_application_versions`: version 1 is the original,
 * recorded at the first resubmission) so the console shows what changed. Audited as `merchant.application_resubmitted`.
 * The bank account number is never copied into a version (only that it changed and its last four digits).
 */
import { recordAudit } from '../operations/audit/audit-log.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { normaliseStaffEmail, type StaffPrincipal, type StaffRequestContext } from './staff.ts';
import { readMerchantProfile, validateApplication, type MerchantApplication, type MerchantProfile, type MerchantsDeps } from './onboarding.ts';
import { setMerchantPayoutAccount } from './payout-accounts.ts';

export type ApplicationCorrection = Omit<MerchantApplication, 'owner' | 'bank'> & { readonly bank: MerchantApplication['bank'] | null; readonly note: string };

/** The reviewable fields of one version, as the console shows them. */
export interface ApplicationFields {
  readonly nameJa: string; readonly nameLatin: string | null; readonly corporateNumber: string | null; readonly representative: string | null;
  readonly address: string | null; readonly contactEmail: string | null; readonly contactPhone: string | null; readonly categoryCode: string;
  readonly expectedMonthlyVolume: string | null; readonly bankAccountLast4: string | null;
}

export interface ApplicationVersion {
  readonly version: number; readonly fields: ApplicationFields; readonly requestedInfo: string | null; readonly applicantNote: string | null;
  readonly submittedBy: string; readonly submittedAt: Date;
}

const NOTE_MAX = 2000;

async function currentFields(client: Queryable, merchantId: string): Promise<ApplicationFields> {
  const result = await client.query<{ name: string; name_latin: string | null; corporate_number: string | null; representative: string | null; business_address: string | null;
    contact_email: string | null; contact_phone: string | null; category_code: string; volume: string | null; last4: string | null }>(
    `select m.name, m.name_latin, m.corporate_number, m.representative, m.business_address, m.contact_email, m.contact_phone, m.category_code,
       m.expected_monthly_volume_minor::text as volume, p.account_number_last4 as last4
     from merchants m left join merchant_payout_accounts p on p.merchant_id = m.id where m.id = $1`, [merchantId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('merchant_not_found');
  return { nameJa: row.name, nameLatin: row.name_latin, corporateNumber: row.corporate_number, representative: row.representative, address: row.business_address,
    contactEmail: row.contact_email, contactPhone: row.contact_phone, categoryCode: row.category_code, expectedMonthlyVolume: row.volume, bankAccountLast4: row.last4 };
}

/** The owner answers the operator's request with a corrected application; only while the request is open. */
export async function resubmitApplication(deps: MerchantsDeps, principal: StaffPrincipal, correction: ApplicationCorrection, context: StaffRequestContext): Promise<MerchantProfile> {
  validateApplication(correction);
  const note = correction.note.trim();
  if (note.length === 0 || note.length > NOTE_MAX) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/note', message: `is required (1–${NOTE_MAX} characters)` }] });
  const contactEmail = normaliseStaffEmail(correction.contactEmail);
  if (principal.role !== 'owner') throw new KobanError('merchant_permission_denied', { detail: 'only the owner resubmits the application' });
  const merchantId = principal.merchantId;
  const version = await withTransaction(deps.db, async (client) => {
    const locked = await client.query<{ status: string; review_state: string | null; review_note: string | null; applied_at: Date | null }>(
      'select status, review_state, review_note, applied_at from merchants where id = $1 for update', [merchantId]);
    const current = locked.rows[0];
    assert(current !== undefined, 'a signed-in user\'s merchant exists');
    if (current.status !== 'applied' || current.review_state !== 'more_info_requested') throw new KobanError('merchant_resubmission_not_requested');
    const latest = await client.query<{ version: number }>('select coalesce(max(version), 0)::int as version from merchant_application_versions where merchant_id = $1', [merchantId]);
    let previous = latest.rows[0]?.version ?? 0;
    if (previous === 0) {
      // The original application becomes version 1, so the console can show what the resubmission changed.
      await client.query(`insert into merchant_application_versions (merchant_id, version, fields, submitted_by, submitted_at) values ($1, 1, $2, $3, $4)`,
        [merchantId, JSON.stringify(await currentFields(client, merchantId)), 'applicant', current.applied_at ?? deps.now()]);
      previous = 1;
    }
    await client.query(
      `update merchants set name = $2, name_latin = $3, corporate_number = $4, representative = $5, business_address = $6, contact_email = $7, contact_phone = $8,
         category_code = $9, expected_monthly_volume_minor = $10, review_state = 'pending', review_note = null, first_approved_by = null where id = $1`,
      [merchantId, correction.nameJa.trim(), correction.nameLatin, correction.corporateNumber, correction.representative.trim(), correction.address.trim(), contactEmail,
        correction.contactPhone, correction.categoryCode, correction.expectedMonthlyVolumeMinor]);
    const fields: ApplicationFields = { ...(await currentFields(client, merchantId)), ...(correction.bank === null ? {} : { bankAccountLast4: correction.bank.accountNumber.slice(-4) }) };
    const next = previous + 1;
    await client.query(
      `insert into merchant_application_versions (merchant_id, version, fields, requested_info, applicant_note, submitted_by, submitted_at) values ($1, $2, $3, $4, $5, $6, $7)`,
      [merchantId, next, JSON.stringify(fields), current.review_note, note, `merchant_user:${principal.userId}`, deps.now()]);
    await recordAudit(client, { actor: { kind: 'merchant_user', id: principal.userId }, action: 'merchant.application_resubmitted', target: { kind: 'merchant', id: merchantId },
      reason: note, outcome: 'success', details: { merchantId, version: next, requestedInfo: current.review_note, bankChanged: correction.bank !== null }, ip: context.ip, requestId: context.requestId });
    return next;
  });
  assert(version >= 2, 'a resubmission is at least version 2');
  // Sealed by payout-accounts.ts in its own statement, as at the application.
  if (correction.bank !== null) await setMerchantPayoutAccount(deps.db, deps.box, merchantId, correction.bank);
  return readMerchantProfile(deps.db, merchantId);
}

/** Every submitted version of an application, oldest first (empty until the first resubmission). */
export async function applicationVersions(db: Database, merchantId: string): Promise<ApplicationVersion[]> {
  const result = await db.pool.query<{ version: number; fields: ApplicationFields; requested_info: string | null; applicant_note: string | null; submitted_by: string; submitted_at: Date }>(
    `select version, fields, requested_info, applicant_note, submitted_by, submitted_at from merchant_application_versions where merchant_id = $1 order by version limit 100`, [merchantId]);
  return result.rows.map((row) => ({ version: row.version, fields: row.fields, requestedInfo: row.requested_info, applicantNote: row.applicant_note, submittedBy: row.submitted_by, submittedAt: row.submitted_at }));
}

/** The form's order (jsonb keeps keys in its own order, so the order is named here). */
const FIELD_ORDER: ReadonlyArray<keyof ApplicationFields> = [
  'nameJa', 'nameLatin', 'corporateNumber', 'representative', 'address', 'contactEmail', 'contactPhone', 'categoryCode', 'expectedMonthlyVolume', 'bankAccountLast4',
];

/** The fields that differ between two versions (what the console highlights), in the form's order. */
export function changedFields(before: ApplicationFields, after: ApplicationFields): Array<keyof ApplicationFields> {
  return FIELD_ORDER.filter((key) => (before[key] ?? null) !== (after[key] ?? null));
}

export interface Resubmission { readonly latest: ApplicationVersion; readonly changed: Array<keyof ApplicationFields>; readonly previous: ApplicationFields }

/** The newest resubmission and what it changed against the version before it, or null for an application never resubmitted. */
export async function latestResubmission(db: Database, merchantId: string): Promise<Resubmission | null> {
  const versions = await applicationVersions(db, merchantId);
  const latest = versions.at(-1);
  const previous = versions.at(-2);
  if (latest === undefined || previous === undefined) return null;
  return { latest, previous: previous.fields, changed: changedFields(previous.fields, latest.fields) };
}

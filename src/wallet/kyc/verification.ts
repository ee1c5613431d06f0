/**
 * Identity verification (eKYC, issue 19). The customer submits name, date of birth, address and the
 * references of a document and a selfie; Koban records the application and sends it to the provider over
 * HTTP; the provider decides later and says so by signed webhook. A webhook is a notification, not the truth
 * (WH-03): Koban checks its signature and freshness, handles each event id once, then reads the verification
 * back from the provider and acts on that. Only the provider's word (approved) or an operator's review of an
 * application the provider sent to review makes a customer verified (`markCustomerVerified`), which opens
 * their funds-transfer balance.
 */
import type { Ledger } from '../../ledger/ledger.ts';
import { recordSecurityEvent } from '../../platform/audit/security-log.ts';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { isKobanError, KobanError } from '../../platform/errors.ts';
import { decodeCursor, pageLimit, pageAtSql, pageOf } from '../../platform/cursor.ts';
import { isUuid, uuidv7 } from '../../platform/ids.ts';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { isCustomerVerified, openFundsTransferAccount, recordVerification } from '../balances.ts';
import { verifyWebhookSignature } from '../funding/webhook-signature.ts';
import type { IdentityVerifier, ProviderVerification, VerificationSubmission } from './provider.ts';

export type ApplicationStatus = 'submitted' | 'approved' | 'rejected' | 'needs_review';

export interface KycApplication {
  readonly id: string;
  readonly customerId: string;
  readonly status: ApplicationStatus;
  readonly reason: string | null;
  readonly decidedBy: string | null;
  readonly createdAt: Date;
  readonly decidedAt: Date | null;
}

export interface KycDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  /** Null: no provider configured; submitting answers `identity_verification_unavailable`. */
  readonly verifier: IdentityVerifier | null;
  readonly webhookSecret: string | null;
  readonly webhookToleranceSec: number;
  readonly now: () => Date;
  /** A forged callback is an operator alert (the wallet's risk port); null records only the security event. */
  readonly reportForged?: ((ip: string | null, reason: string) => Promise<void>) | null;
}

export type CustomerSubmission = Omit<VerificationSubmission, 'reference'>;

interface ApplicationRow {
  id: string; customer_id: string; status: ApplicationStatus; reason: string | null; decided_by: string | null; created_at: Date; decided_at: Date | null;
  provider_ref: string | null; full_name: string; date_of_birth: string; address: string; document_ref: string; selfie_ref: string;
}
const COLUMNS = `id, customer_id, status, reason, decided_by, created_at, decided_at, provider_ref, full_name, to_char(date_of_birth, 'YYYY-MM-DD') as date_of_birth, address, document_ref, selfie_ref`;

function toApplication(row: ApplicationRow): KycApplication {
  return { id: row.id, customerId: row.customer_id, status: row.status, reason: row.reason, decidedBy: row.decided_by, createdAt: row.created_at, decidedAt: row.decided_at };
}

async function openApplication(deps: KycDeps, customerId: string): Promise<ApplicationRow | null> {
  const found = await deps.db.pool.query<ApplicationRow>(`select ${COLUMNS} from kyc_applications where customer_id = $1 and status in ('submitted', 'needs_review')`, [customerId]);
  return found.rows[0] ?? null;
}

/**
 * Records the application and sends it to the provider. An application the provider has not acknowledged
 * (timeout, network) stays `submitted`; submitting again re-sends that same application under the same
 * Idempotency-Key, so the provider never holds two.
 */
export async function submitVerification(deps: KycDeps, customerId: string, submission: CustomerSubmission): Promise<KycApplication> {
  if (deps.verifier === null) throw new KobanError('identity_verification_unavailable');
  if (await isCustomerVerified(deps.db.pool, customerId)) throw new KobanError('identity_already_verified');
  const open = await openApplication(deps, customerId);
  if (open !== null && (open.status === 'needs_review' || open.provider_ref !== null)) throw new KobanError('identity_verification_in_progress');
  const row = open ?? await insertApplication(deps, customerId, submission);
  const sent = await deps.verifier.submit({
    idempotencyKey: `kyc-${row.id}`, reference: row.id, fullName: row.full_name, dateOfBirth: row.date_of_birth, address: row.address, documentRef: row.document_ref, selfieRef: row.selfie_ref,
  });
  if (!sent.ok) {
    if (sent.error.kind === 'rejected') {
      await decide(deps, row.id, ['submitted'], 'rejected', `provider_refused:${sent.error.code}`.slice(0, 200), 'provider');
      return readApplication(deps, row.id);
    }
    throw new KobanError('identity_verification_unavailable', { detail: 'the provider did not answer; send the same request again' });
  }
  await deps.db.pool.query('update kyc_applications set provider_ref = $2 where id = $1 and provider_ref is null', [row.id, sent.value.id]);
  return readApplication(deps, row.id);
}

async function insertApplication(deps: KycDeps, customerId: string, submission: CustomerSubmission): Promise<ApplicationRow> {
  try {
    const inserted = await deps.db.pool.query<ApplicationRow>(
      `insert into kyc_applications (id, customer_id, full_name, date_of_birth, address, document_ref, selfie_ref, status)
       values ($1, $2, $3, $4::date, $5, $6, $7, 'submitted') returning ${COLUMNS}`,
      [uuidv7(), customerId, submission.fullName, submission.dateOfBirth, submission.address, submission.documentRef, submission.selfieRef]);
    const row = inserted.rows[0];
    assert(row !== undefined, 'the application was written');
    return row;
  } catch (error) {
    // Two submissions at once: the one-open-application index lets one through.
    if (error instanceof Error && 'code' in error && error.code === '23505') throw new KobanError('identity_verification_in_progress');
    if (error instanceof Error && 'code' in error && (error.code === '22008' || error.code === '22007')) {
      throw new KobanError('validation_failed', { errors: [{ pointer: '/body/dateOfBirth', message: 'must be a real date' }] });
    }
    throw error;
  }
}

export async function readApplication(deps: Pick<KycDeps, 'db'>, id: string): Promise<KycApplication> {
  const found = await deps.db.pool.query<ApplicationRow>(`select ${COLUMNS} from kyc_applications where id = $1`, [isUuid(id) ? id : null]);
  const row = found.rows[0];
  if (row === undefined) throw new KobanError('kyc_application_not_found');
  return toApplication(row);
}

export async function verificationState(deps: Pick<KycDeps, 'db'>, customerId: string): Promise<{ verified: boolean; latest: KycApplication | null }> {
  const [verified, latest] = await Promise.all([
    isCustomerVerified(deps.db.pool, customerId),
    deps.db.pool.query<ApplicationRow>(`select ${COLUMNS} from kyc_applications where customer_id = $1 order by created_at desc limit 1`, [customerId]),
  ]);
  const row = latest.rows[0];
  return { verified, latest: row === undefined ? null : toApplication(row) };
}

/**
 * Moves an application on, only from the given states: a late or repeated word never undoes a decision.
 * An approval writes the customer's verification in the same transaction (their funds-transfer account is
 * opened before: an empty account is harmless), so an application is approved exactly when its customer is
 * verified — two reviewers, or a reviewer and the provider, cannot end with one approved and one rejected.
 */
async function decide(deps: Pick<KycDeps, 'db' | 'now' | 'ledger'>, id: string, from: readonly ApplicationStatus[], to: ApplicationStatus, reason: string | null, decidedBy: string): Promise<boolean> {
  const final = to === 'approved' || to === 'rejected';
  const at = deps.now();
  const application = await readApplication(deps, id);
  if (to === 'approved') await openFundsTransferAccount(deps.ledger, application.customerId);
  return withTransaction(deps.db, async (client) => {
    const updated = await client.query(
      `update kyc_applications set status = $3, reason = $4, decided_by = $5, decided_at = case when $6 then $7::timestamptz else null end
       where id = $1 and status = any($2::text[])`, [id, from, to, reason, decidedBy, final, at]);
    if (updated.rowCount !== 1) return false;
    if (to === 'approved') await recordVerification(client, application.customerId, decidedBy === 'provider' ? `ekyc:${id}` : `review:${decidedBy}`.slice(0, 200), at);
    return true;
  });
}

/** Applies the provider's verification (read back from the provider) to the application it names. */
async function applyProviderWord(deps: KycDeps, verification: ProviderVerification): Promise<'processed' | 'ignored'> {
  // The provider may answer before Koban stored its id (the webhook overtook the submit's answer): the
  // reference is Koban's application id, and the provider's id is then recorded here.
  if (!isUuid(verification.reference)) return 'ignored';
  const found = await deps.db.pool.query<ApplicationRow>(
    `update kyc_applications set provider_ref = coalesce(provider_ref, $2) where id = $1 and (provider_ref is null or provider_ref = $2) returning ${COLUMNS}`,
    [verification.reference, verification.id]);
  const row = found.rows[0];
  if (row === undefined) return 'ignored';
  if (verification.status === 'approved') {
    return await decide(deps, row.id, ['submitted'], 'approved', null, 'provider') ? 'processed' : 'ignored';
  }
  if (verification.status === 'rejected') return await decide(deps, row.id, ['submitted'], 'rejected', verification.reason ?? 'rejected', 'provider') ? 'processed' : 'ignored';
  if (verification.status === 'needs_review') return await decide(deps, row.id, ['submitted'], 'needs_review', verification.reason, 'provider') ? 'processed' : 'ignored';
  return 'ignored';
}

const checkEvent = Compile(Type.Object({
  id: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{1,100}$' }),
  type: Type.String({ maxLength: 64 }),
  data: Type.Object({ id: Type.String({ pattern: '^kyc_[A-Za-z0-9_-]{1,64}$' }) }),
}));

export interface CallbackOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

function verifiedEvent(deps: KycDeps, header: string | undefined, rawBody: Buffer): { id: string; type: string; data: { id: string } } {
  if (deps.webhookSecret === null) throw new KobanError('identity_verification_unavailable', { detail: 'no eKYC webhook secret is configured' });
  const check = verifyWebhookSignature({ header, rawBody, secret: deps.webhookSecret, nowSec: Math.floor(deps.now().getTime() / 1000), toleranceSec: deps.webhookToleranceSec });
  if (check.status === 'stale_timestamp') throw new KobanError('webhook_timestamp_stale');
  if (check.status !== 'ok') throw new KobanError('webhook_signature_invalid');
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new KobanError('webhook_invalid');
  }
  if (!checkEvent.Check(json)) throw new KobanError('webhook_invalid');
  return json;
}

const FORGED_CODES: ReadonlySet<string> = new Set(['webhook_signature_invalid', 'webhook_timestamp_stale', 'webhook_invalid']);

/** `POST /v1/webhooks/ekyc`: a refused callback changes nothing and is a security event operators see. */
export async function receiveEkycWebhook(deps: KycDeps, header: string | undefined, rawBody: Buffer, origin: CallbackOrigin | null): Promise<'processed' | 'duplicate' | 'ignored'> {
  let event: { id: string; type: string; data: { id: string } };
  try {
    event = verifiedEvent(deps, header, rawBody);
  } catch (error) {
    if (isKobanError(error) && FORGED_CODES.has(error.code)) {
      await recordSecurityEvent(deps.db.pool, { type: 'callback.forged', outcome: 'refused', actor: 'anonymous', origin: origin === null ? null : { ...origin, deviceToken: null },
        reasons: ['ekyc', error.code], details: { provider: 'ekyc' } });
      await deps.reportForged?.(origin?.ip ?? null, error.code);
    }
    throw error;
  }
  await deps.db.pool.query(
    `insert into provider_webhook_events (provider, event_id, event_type) values ('ekyc', $1, $2) on conflict (provider, event_id) do nothing`, [event.id, event.type]);
  const seen = await deps.db.pool.query<{ processed_at: Date | null }>(`select processed_at from provider_webhook_events where provider = 'ekyc' and event_id = $1`, [event.id]);
  if (seen.rows[0]?.processed_at !== null) return 'duplicate';
  if (deps.verifier === null) throw new KobanError('identity_verification_unavailable');
  const fetched = await deps.verifier.get(event.data.id);
  // The provider could not be read: answer an error so the provider retries the webhook.
  if (!fetched.ok) throw new KobanError('identity_verification_unavailable', { detail: 'the provider could not be read back; retry later' });
  const outcome = await applyProviderWord(deps, fetched.value);
  await deps.db.pool.query(`update provider_webhook_events set processed_at = now() where provider = 'ekyc' and event_id = $1`, [event.id]);
  return outcome;
}

/** Applications the provider sent to review, oldest first (bounded). */
export type ReviewItem = KycApplication & { fullName: string; dateOfBirth: string; address: string; documentRef: string; selfieRef: string };

/**
 * The applications waiting for an operator, oldest first (a queue: the longest-waiting customer is seen first), a page
 * at a time (`after`: the previous page's `nextAfter`).
 */
export async function reviewQueue(deps: Pick<KycDeps, 'db'>, query: { limit?: number; after?: string } = {}): Promise<{ items: ReviewItem[]; nextAfter: string | null }> {
  const limit = pageLimit(query.limit);
  const after = decodeCursor(query.after, '/querystring/after');
  const rows = await deps.db.pool.query<ApplicationRow & { created_at: Date; page_at: string }>(
    `select ${COLUMNS}, created_at, ${pageAtSql('created_at')} as page_at from kyc_applications where status = 'needs_review'
       and ($2::timestamptz is null or (created_at, id) > ($2, $3::uuid))
     order by created_at, id limit $1`,
    [limit + 1, after?.at ?? null, after !== null && isUuid(after.id) ? after.id : null]);
  const page = pageOf(rows.rows, limit, (row) => ({ at: row.page_at, id: row.id }));
  return {
    items: page.items.map((row) => ({ ...toApplication(row), fullName: row.full_name, dateOfBirth: row.date_of_birth, address: row.address, documentRef: row.document_ref, selfieRef: row.selfie_ref })),
    nextAfter: page.nextBefore,
  };
}

/** An operator decides an application the provider sent to review; the caller records the audit entry. */
export async function reviewApplication(deps: KycDeps, id: string, decision: 'approve' | 'reject', operatorId: string, reason: string): Promise<KycApplication> {
  assert(reason.trim().length > 0, 'a review gives its reason');
  const application = await readApplication(deps, id);
  if (application.status !== 'needs_review') throw new KobanError('kyc_application_not_in_review');
  const by = `operator:${operatorId}`.slice(0, 200);
  if (!await decide(deps, id, ['needs_review'], decision === 'approve' ? 'approved' : 'rejected', reason.slice(0, 200), by)) {
    throw new KobanError('kyc_application_not_in_review');
  }
  return readApplication(deps, id);
}

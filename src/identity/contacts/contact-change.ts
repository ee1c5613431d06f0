/**
 * Changing the e-mail or phone of record (REC-08, OTP-03). A change needs a fresh step-up bound to
 * the exact new contact, and the new contact proves itself with a code before it replaces the old
 * one. The old contact is told, with a single-use "this wasn't me" token: reporting restores it,
 * signs out every session, forgets every remembered device and starts the recovery cool-down.
 * Both contacts never change in one go: after one changes, the other waits out a cool-down, so a
 * hijacked session cannot take both recovery channels at once.
 */
import { withTransaction, sqlState, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { enqueueMessage } from '../../notifications/outbox.ts';
import { requireSmsBudget } from '../codes/sms-budget.ts';
import { consumeCode, issueCode } from '../codes/one-time-codes.ts';
import type { IdentityDeps } from '../deps.ts';
import { hitCounter } from '../login/throttle.ts';
import { randomToken, sha256 } from '../secrets.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import { revokeAllSessions, type Session } from '../sessions/sessions.ts';
import { requireStepUp } from '../step-up/step-up.ts';
import { assessCredentialChange } from '../credential-changes.ts';
import { customerByContact } from './contacts.ts';
import { maskContact, normalizeEmail, normalizePhone, type ContactKind } from './normalize.ts';

export const CONTACT_CHANGE_LIMITS = {
  /** As long as the code sent to the new contact lives. */
  ttlMs: 10 * 60_000,
  /** After one contact changed, the other cannot change for this long. */
  otherKindCooldownMs: 24 * 60 * 60_000,
  /** How long the old contact can report "this wasn't me". */
  reportTtlMs: 30 * 24 * 60 * 60_000,
  /** Changes started per customer per hour: each one sends a message. */
  startsPerHour: 5,
} as const;
const HOUR_MS = 60 * 60_000;
const TOKEN_LENGTH_MAX = 128;

const LABEL: Readonly<Record<ContactKind, string>> = { email: 'e-mail address', phone: 'phone number' };

function normalize(kind: ContactKind, raw: string): string {
  return kind === 'email' ? normalizeEmail(raw, '/body/email') : normalizePhone(raw, '/body/phone');
}

async function currentContact(db: Queryable, customerId: string, kind: ContactKind): Promise<string | null> {
  const result = await db.query<{ value: string }>('select value from customer_contacts where customer_id = $1 and kind = $2', [customerId, kind]);
  return result.rows[0]?.value ?? null;
}

async function refuseDuringOtherKindCooldown(db: Queryable, customerId: string, kind: ContactKind): Promise<void> {
  const recent = await db.query(
    `select 1 from contact_changes where customer_id = $1 and kind <> $2 and reported_at is null
       and completed_at > now() - make_interval(secs => $3::double precision / 1000) limit 1`,
    [customerId, kind, CONTACT_CHANGE_LIMITS.otherKindCooldownMs],
  );
  if (recent.rowCount === 1) throw new KobanError('contact_change_cooldown');
}

/** The code to the new contact, or, if it already belongs to an account, a notice and no code (AUTH-06). */
async function sendChangeCode(db: Queryable, deps: IdentityDeps, changeId: string, kind: ContactKind, value: string): Promise<void> {
  const registered = (await customerByContact(db, kind, value)) !== null;
  const issued = await issueCode(db, deps.secrets, 'contact_change', changeId, value);
  if ('refused' in issued) throw new KobanError('resend_limit_reached');
  const channel = kind === 'phone' ? 'sms' : 'email';
  if (registered) {
    await enqueueMessage(db, { channel, recipient: value, kind: 'contact_change_already_registered', subject: 'Koban contact change',
      body: 'Someone tried to add this contact to a Koban account, but it already belongs to an account. Nothing was changed. If it was not you, ignore this message.' });
    // Nobody may know the stored code: replace it with an unguessable one.
    await db.query(`update one_time_codes set code_hash = $2 where purpose = 'contact_change' and subject_id = $1`, [changeId, deps.secrets.mac('one_time_codes', randomToken())]);
    return;
  }
  await enqueueMessage(db, { channel, recipient: value, kind: 'contact_change_code', subject: 'Confirm your new Koban contact',
    body: `Your Koban code to confirm this ${LABEL[kind]} is ${issued.code}. It expires in 10 minutes. Never tell it to anyone.` });
}

export interface StartContactChange { readonly kind: ContactKind; readonly value: string; readonly grant: string | undefined }

/** Step-up `change_email {email}` or `change_phone {phone}` with the value exactly as sent here. */
export async function startContactChange(deps: IdentityDeps, session: Session, input: StartContactChange, origin: RequestOrigin): Promise<{ changeId: string }> {
  const value = normalize(input.kind, input.value);
  const old = await currentContact(deps.db.pool, session.customerId, input.kind);
  if (old === null) throw new KobanError('factor_not_enrolled');
  if (old === value) throw new KobanError('validation_failed', { errors: [{ pointer: `/body/${input.kind}`, message: `is already your ${LABEL[input.kind]}` }] });
  await refuseDuringOtherKindCooldown(deps.db.pool, session.customerId, input.kind);
  // Consumed on its own: a change refused later still used the step-up, so nothing is probed for free.
  await requireStepUp(deps.db.pool, session, input.grant, input.kind === 'email' ? 'change_email' : 'change_phone', { [input.kind]: input.value });
  await assessCredentialChange(deps, session, input.kind === 'email' ? 'change_email' : 'change_phone', origin);
  if ((await hitCounter(deps.db.pool, `contact_change:${session.customerId}`, HOUR_MS)) > CONTACT_CHANGE_LIMITS.startsPerHour) {
    throw new KobanError('rate_limited', { detail: 'too many contact changes; try again later' });
  }
  const changeId = uuidv7();
  // The budget counts on its own connection, so it is spent before the transaction.
  if (input.kind === 'phone') await requireSmsBudget(deps, value, origin);
  await withTransaction(deps.db, async (client) => {
    // One pending change per kind: a new one ends the previous one.
    await client.query('update contact_changes set expires_at = now() where customer_id = $1 and kind = $2 and completed_at is null and expires_at > now()', [session.customerId, input.kind]);
    await client.query(
      `insert into contact_changes (id, customer_id, session_id, kind, old_value, new_value, expires_at)
       values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision / 1000))`,
      [changeId, session.customerId, session.id, input.kind, old, value, CONTACT_CHANGE_LIMITS.ttlMs],
    );
    await sendChangeCode(client, deps, changeId, input.kind, value);
    await recordSecurityEvent(client, { type: 'contact.change_started', outcome: 'success', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin, details: { kind: input.kind } });
  });
  return { changeId };
}

interface PendingChange { id: string; kind: ContactKind; old_value: string; new_value: string }

/** The code from the new contact completes the change; the old contact gets the "this wasn't me" token. */
export async function confirmContactChange(deps: IdentityDeps, session: Session, input: { changeId: string; code: string }, publicUrl: string, origin: RequestOrigin): Promise<void> {
  const owned = await deps.db.pool.query('select 1 from contact_changes where id = $1 and customer_id = $2 and session_id = $3', [input.changeId, session.customerId, session.id]);
  if (owned.rowCount !== 1 || !(await consumeCode(deps.db.pool, deps.secrets, 'contact_change', input.changeId, input.code))) {
    await recordSecurityEvent(deps.db.pool, { type: 'contact.change_confirmed', outcome: 'failure', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin });
    throw new KobanError('verification_failed');
  }
  const reportToken = randomToken();
  await withTransaction(deps.db, async (client) => {
    const change = (await client.query<PendingChange>(
      `select id, kind, old_value, new_value from contact_changes where id = $1 and completed_at is null and expires_at > now() for update`, [input.changeId],
    )).rows[0];
    if (change === undefined) throw new KobanError('verification_failed');
    // Re-checked here: two changes of different kinds started together must not both complete.
    await refuseDuringOtherKindCooldown(client, session.customerId, change.kind);
    if ((await currentContact(client, session.customerId, change.kind)) !== change.old_value) throw new KobanError('verification_failed');
    await enqueueMessage(client, { channel: change.kind === 'phone' ? 'sms' : 'email', recipient: change.old_value, kind: 'contact_changed_report', subject: `Your Koban ${LABEL[change.kind]} was changed`,
      body: `The ${LABEL[change.kind]} of your Koban account was changed to ${maskContact(change.kind, change.new_value)}. This ${LABEL[change.kind]} no longer receives codes.\n\n`
        + `If this wasn't you, report it within 30 days with this report code: ${reportToken} (Koban app: "This wasn't me"; API: POST ${publicUrl}/v1/customer/contacts/changes/report). `
        + 'Reporting restores this contact, signs out every session and pauses top-ups.' });
    await client.query('update customer_contacts set value = $3, verified_at = now() where customer_id = $1 and kind = $2', [session.customerId, change.kind, change.new_value]);
    await client.query(
      `update contact_changes set completed_at = now(), report_token_hash = $2, report_expires_at = now() + make_interval(secs => $3::double precision / 1000) where id = $1`,
      [change.id, sha256(reportToken), CONTACT_CHANGE_LIMITS.reportTtlMs],
    );
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'contact.changed', origin, sessionId: session.id, details: { kind: change.kind } });
  }).catch((error: unknown) => {
    // The new contact was taken by another account in the meantime: nothing changes.
    if (sqlState(error) === '23505') throw new KobanError('verification_failed');
    throw error;
  });
}

/**
 * "This wasn't me" from the old contact: restore it (unless another account has taken it since),
 * end every session, forget every remembered device and pause high-risk actions. The customer then
 * recovers the account through the restored contact, which also sets a new password.
 */
export async function reportContactChange(deps: IdentityDeps, token: string, origin: RequestOrigin): Promise<void> {
  if (token.length === 0 || token.length > TOKEN_LENGTH_MAX) throw new KobanError('verification_failed');
  await withTransaction(deps.db, async (client) => {
    const change = (await client.query<PendingChange & { customer_id: string }>(
      `update contact_changes set reported_at = now() where report_token_hash = $1 and reported_at is null and report_expires_at > now()
       returning id, customer_id, kind, old_value, new_value`,
      [sha256(token)],
    )).rows[0];
    if (change === undefined) throw new KobanError('verification_failed');
    const holder = await customerByContact(client, change.kind, change.old_value);
    const restorable = holder === null || holder === change.customer_id;
    if (restorable) await client.query('update customer_contacts set value = $3, verified_at = now() where customer_id = $1 and kind = $2', [change.customer_id, change.kind, change.old_value]);
    await client.query('update contact_changes set expires_at = now() where customer_id = $1 and completed_at is null', [change.customer_id]);
    await revokeAllSessions(client, change.customer_id);
    await client.query('delete from devices where customer_id = $1', [change.customer_id]);
    await client.query(`update customers set recovery_cooldown_until = greatest(coalesce(recovery_cooldown_until, now()), now() + make_interval(secs => $2::double precision / 1000)) where id = $1`,
      [change.customer_id, deps.config.recoveryCooldownMs]);
    await announceSecurityEvent(client, { customerId: change.customer_id, type: 'contact.change_reported', origin, details: { kind: change.kind, restored: restorable } });
  });
}

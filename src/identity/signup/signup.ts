/**
 * Sign-up with a phone and an e-mail, each proved by a code before it counts (LINK-03). A pending
 * sign-up is not a customer: it claims nothing, expires after 24 h, and the first sign-up to verify
 * both contacts deletes every other pending sign-up for them. The answer never depends on whether a
 * contact is registered (AUTH-06): a code is still stored (one nobody knows) so that resend limits and
 * failures behave the same, and SMS budgets are spent alike.
 *
 * A contact already verified on another account receives nothing (issue 14: 25 sign-ups naming a
 * victim's phone sent it 25 messages). Its owner is told once a day, in the app's feed and by e-mail,
 * never by SMS; the sign-up can never complete (it cannot be proved). The honest refusal for the person
 * signing up is in the wording of every sign-up answer: "if this number can be used for a new account,
 * a code is on its way" — the same for a taken and a free number. A number recycled by its carrier is
 * released by the old account (contact change) or by support; nothing is sent to it on a stranger's word.
 */
import { sqlState, withTransaction, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import { enqueueMessage } from '../../notifications/outbox.ts';
import { consumeCode, issueCode, type CodePurpose } from '../codes/one-time-codes.ts';
import { customerByContact } from '../contacts/contacts.ts';
import { normalizeEmail, normalizePhone } from '../contacts/normalize.ts';
import type { IdentityDeps } from '../deps.ts';
import { checkNewPassword } from '../password/policy.ts';
import { randomToken } from '../secrets.ts';
import { hitCounter } from '../login/throttle.ts';
import { requireSmsBudget } from '../codes/sms-budget.ts';
import { addFeedEntry } from '../../notifications/outbox.ts';
import { verifiedContacts } from '../contacts/contacts.ts';

export const SIGNUP_TTL_MS = 24 * 60 * 60_000;
/** Sign-ups started per IP per hour: each one sends an SMS, which costs money (OTP-04). */
export const SIGNUPS_PER_IP_PER_HOUR = 10;
const HOUR_MS = 60 * 60_000;

export type SignupChannel = 'email' | 'phone';

interface PendingSignup { id: string; email: string; phone: string; password_hash: string; email_verified_at: Date | null; phone_verified_at: Date | null }

const PURPOSE: Readonly<Record<SignupChannel, CodePurpose>> = { email: 'signup_email', phone: 'signup_phone' };

/** The SMS budget for `destination` must already be spent (before the caller's transaction: `requireSmsBudget` counts on its own connection). */
async function sendSignupCode(db: Queryable, deps: IdentityDeps, signupId: string, channel: SignupChannel, destination: string, origin: RequestOrigin | null): Promise<void> {
  const owner = await customerByContact(db, channel, destination);
  const issued = await issueCode(db, deps.secrets, PURPOSE[channel], signupId, destination);
  if ('refused' in issued) throw new KobanError('resend_limit_reached');
  const transport = channel === 'phone' ? 'sms' : 'email';
  if (owner !== null) {
    await tellOwnerOfSignupAttempt(db, owner, channel, origin);
    // The code just stored was never sent: overwrite it with an unguessable one so nobody can know it.
    await db.query('update one_time_codes set code_hash = $3 where purpose = $1 and subject_id = $2', [PURPOSE[channel], signupId, deps.secrets.mac('one_time_codes', randomToken())]);
    return;
  }
  await enqueueMessage(db, { channel: transport, recipient: destination, kind: 'signup_code', subject: 'Your Koban sign-up code',
    body: `Your Koban code is ${issued.code}. It expires in 10 minutes. Koban will never ask you for it by phone.` });
}

/** SIGNUP_NOTICES_PER_DAY per account, in the feed and by e-mail only: a stranger's sign-ups never reach the owner's phone. */
export const SIGNUP_NOTICES_PER_DAY = 1;
const DAY_MS = 24 * HOUR_MS;

async function tellOwnerOfSignupAttempt(db: Queryable, customerId: string, channel: SignupChannel, origin: RequestOrigin | null): Promise<void> {
  await recordSecurityEvent(db, { type: 'signup.contact_taken', outcome: 'refused', actor: 'anonymous', customerId, origin, reasons: [channel] });
  if ((await hitCounter(db, `signup_notice:${customerId}`, DAY_MS)) > SIGNUP_NOTICES_PER_DAY) return;
  const label = channel === 'phone' ? 'phone number' : 'e-mail address';
  const body = `Someone tried to create a new Koban account with your ${label}. Nothing was sent to it and no account was created. If this was you, sign in to your existing account or recover it. If you gave up this ${label}, change it in the app.`;
  await addFeedEntry(db, customerId, { kind: 'security_alert', title: `Sign-up attempt with your ${label}`, body });
  for (const contact of await verifiedContacts(db, customerId)) {
    if (contact.kind === 'email') await enqueueMessage(db, { channel: 'email', recipient: contact.value, kind: 'signup_already_registered', subject: 'Koban sign-up attempt', body });
  }
}

export async function startSignup(deps: IdentityDeps, input: { email: string; phone: string; password: string }, origin: RequestOrigin): Promise<{ signupId: string }> {
  const email = normalizeEmail(input.email);
  const phone = normalizePhone(input.phone);
  const password = checkNewPassword(input.password, { email, phone });
  if (origin.ip !== null && (await hitCounter(deps.db.pool, `signup:ip:${origin.ip}`, HOUR_MS)) > SIGNUPS_PER_IP_PER_HOUR) {
    throw new KobanError('rate_limited', { detail: 'too many sign-ups from this address; try again later' });
  }
  // Hashed before anything is looked up, so registered and new contacts cost the same.
  const passwordHash = await deps.hasher.hash(password);
  const signupId = uuidv7();
  // Spent for taken and free numbers alike, before anything is looked up: the budget answer tells nothing.
  await requireSmsBudget(deps, phone, origin);
  await withTransaction(deps.db, async (client) => {
    await client.query(
      `insert into signups (id, email, phone, password_hash, expires_at) values ($1, $2, $3, $4, now() + make_interval(secs => $5::double precision / 1000))`,
      [signupId, email, phone, passwordHash, SIGNUP_TTL_MS],
    );
    await sendSignupCode(client, deps, signupId, 'email', email, origin);
    await sendSignupCode(client, deps, signupId, 'phone', phone, origin);
    await recordSecurityEvent(client, { type: 'signup.started', outcome: 'success', actor: 'anonymous', origin, details: { signupId } });
  });
  return { signupId };
}

async function lockPendingSignup(db: Queryable, signupId: string): Promise<PendingSignup | null> {
  const result = await db.query<PendingSignup>(
    'select id, email, phone, password_hash, email_verified_at, phone_verified_at from signups where id = $1 and expires_at > now() for update',
    [signupId],
  );
  return result.rows[0] ?? null;
}

export async function resendSignupCode(deps: IdentityDeps, input: { signupId: string; channel: SignupChannel }, origin: RequestOrigin | null = null): Promise<void> {
  if (input.channel === 'phone') {
    // The budget counts on its own connection, so it is spent before the transaction (read without the lock).
    const pending = await deps.db.pool.query<{ phone: string }>('select phone from signups where id = $1 and expires_at > now() and phone_verified_at is null', [input.signupId]);
    const phone = pending.rows[0]?.phone;
    if (phone === undefined) return; // unknown, expired or done: answered like a successful resend
    await requireSmsBudget(deps, phone, origin);
  }
  await withTransaction(deps.db, async (client) => {
    const signup = await lockPendingSignup(client, input.signupId);
    // Unknown, expired and completed sign-ups answer like a successful resend: nothing to learn here.
    if (signup === null) return;
    if ((input.channel === 'email' ? signup.email_verified_at : signup.phone_verified_at) !== null) return;
    await sendSignupCode(client, deps, signup.id, input.channel, input.channel === 'email' ? signup.email : signup.phone, origin);
  });
}

export type SignupProgress = { status: 'pending'; remaining: SignupChannel[] } | { status: 'complete'; customerId: string };

/** Creates the customer once both contacts are proved; deletes every other pending sign-up for them. */
async function completeSignup(db: Queryable, signup: PendingSignup, origin: RequestOrigin): Promise<string> {
  const taken = (await customerByContact(db, 'email', signup.email)) !== null || (await customerByContact(db, 'phone', signup.phone)) !== null;
  if (taken) throw new KobanError('verification_failed');
  const customerId = uuidv7();
  await db.query('delete from signups where email = $1 or phone = $2', [signup.email, signup.phone]);
  await db.query('insert into customers (id, webauthn_user_id) values ($1, $2)', [customerId, randomToken()]);
  await db.query(
    `insert into customer_contacts (id, customer_id, kind, value, verified_at) values ($1, $3, 'email', $4, now()), ($2, $3, 'phone', $5, now())`,
    [uuidv7(), uuidv7(), customerId, signup.email, signup.phone],
  );
  await db.query('insert into password_credentials (customer_id, password_hash) values ($1, $2)', [customerId, signup.password_hash]);
  await recordSecurityEvent(db, { type: 'signup.completed', outcome: 'success', actor: 'customer', customerId, origin });
  return customerId;
}

export async function verifySignupCode(deps: IdentityDeps, input: { signupId: string; channel: SignupChannel; code: string }, origin: RequestOrigin): Promise<SignupProgress> {
  // The attempt is counted in its own statement, so a refused code still uses up an attempt.
  const ok = await consumeCode(deps.db.pool, deps.secrets, PURPOSE[input.channel], input.signupId, input.code);
  if (!ok) {
    await recordSecurityEvent(deps.db.pool, { type: 'signup.code_rejected', outcome: 'failure', actor: 'anonymous', origin, details: { channel: input.channel } });
    throw new KobanError('verification_failed');
  }
  return withTransaction(deps.db, async (client): Promise<SignupProgress> => {
    const column = input.channel === 'email' ? 'email_verified_at' : 'phone_verified_at';
    await client.query(`update signups set ${column} = now() where id = $1 and expires_at > now()`, [input.signupId]);
    const signup = await lockPendingSignup(client, input.signupId);
    if (signup === null) throw new KobanError('verification_failed');
    const remaining: SignupChannel[] = [];
    if (signup.email_verified_at === null) remaining.push('email');
    if (signup.phone_verified_at === null) remaining.push('phone');
    if (remaining.length > 0) return { status: 'pending', remaining };
    return { status: 'complete', customerId: await completeSignup(client, signup, origin) };
  }).catch((error: unknown) => {
    // Two sign-ups of one contact completing at once: the unique index lets one win, the other fails cleanly.
    if (sqlState(error) === '23505') throw new KobanError('verification_failed');
    throw error;
  });
}

export async function purgeExpiredSignups(deps: IdentityDeps): Promise<number> {
  const result = await deps.db.pool.query('delete from signups where expires_at <= now()');
  return result.rowCount ?? 0;
}

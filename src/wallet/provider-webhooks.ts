/**
 * Webhooks from the acquirer and the bank. A webhook is a notification, not the truth (WH-03): it must be
 * signed over the raw body with a fresh timestamp (WH-01/02), its event id is handled once, its amount must
 * match the top-up it names, and then Koban reads the resource from the provider and acts on that.
 *
 * A refused callback (bad or stale signature, unreadable body, an amount that differs from the top-up)
 * changes nothing and is a security event (`callback.forged` / `callback.mismatch`) that operators see;
 * the first from a source address in ten minutes (every mismatch) also raises a risk-engine alert, so
 * someone probing the webhook endpoints is noticed (issue 14) without one case per forged request.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { isKobanError, KobanError } from '../platform/errors.ts';
import { recordSecurityEvent } from '../platform/audit/security-log.ts';
import { isUuid } from '../platform/ids.ts';
import type { WalletDeps } from './deps.ts';
import { applyMandateStatus } from './funding-sources.ts';
import { verifyWebhookSignature } from './funding/webhook-signature.ts';
import { advanceTopUp } from './settle.ts';
import { loadTopUp, type TopUpRow } from './top-ups.ts';

export type Provider = 'acquirer' | 'bank';
export type WebhookOutcome = 'processed' | 'duplicate' | 'ignored';

const Digits = Type.String({ pattern: '^(0|[1-9][0-9]{0,17})$' });
const checkEvent = Compile(Type.Object({
  id: Type.String({ pattern: '^evt_[A-Za-z0-9_-]{1,100}$' }),
  type: Type.String({ maxLength: 64 }),
  createdAt: Type.String({ maxLength: 64 }),
  data: Type.Object({
    id: Type.Optional(Type.String({ maxLength: 128 })),
    authorizationId: Type.Optional(Type.String({ maxLength: 128 })),
    mandateId: Type.Optional(Type.String({ maxLength: 128 })),
    reference: Type.Optional(Type.String({ maxLength: 200 })),
    amount: Type.Optional(Digits),
    status: Type.Optional(Type.String({ maxLength: 64 })),
  }),
}));

interface ProviderEvent {
  id: string;
  type: string;
  data: { id?: string; authorizationId?: string; mandateId?: string; reference?: string; amount?: string; status?: string };
}

const TOP_UP_EVENTS: Readonly<Record<Provider, ReadonlySet<string>>> = {
  acquirer: new Set(['authorized', 'declined', 'captured', 'voided', 'challenge_failed']),
  bank: new Set(['debit_succeeded', 'debit_failed']),
};

function verified(deps: WalletDeps, provider: Provider, header: string | undefined, rawBody: Buffer): ProviderEvent {
  const secret = provider === 'acquirer' ? deps.config.acquirerWebhookSecret : deps.config.bankWebhookSecret;
  if (secret === null) throw new KobanError('funding_unavailable', { detail: `no ${provider} webhook secret is configured` });
  const check = verifyWebhookSignature({ header, rawBody, secret, nowSec: Math.floor(Date.now() / 1000), toleranceSec: deps.config.webhookToleranceSec });
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

/** The top-up an event is about, if any: its reference is Koban's top-up id and its resource id must be the one on file. */
async function topUpOf(deps: WalletDeps, provider: Provider, event: ProviderEvent): Promise<TopUpRow | null> {
  if (!TOP_UP_EVENTS[provider].has(event.type)) return null;
  const reference = event.data.reference;
  if (reference === undefined || !isUuid(reference)) return null;
  const row = await loadTopUp(deps.db.pool, reference);
  if (row === null || row.kind !== (provider === 'acquirer' ? 'card' : 'bank')) return null;
  const resourceId = provider === 'acquirer' ? event.data.authorizationId : event.data.id;
  if (resourceId === undefined || (row.provider_ref !== null && row.provider_ref !== resourceId)) return null;
  return row;
}

async function claimEvent(deps: WalletDeps, provider: Provider, event: ProviderEvent): Promise<boolean> {
  await deps.db.pool.query(
    'insert into provider_webhook_events (provider, event_id, event_type) values ($1, $2, $3) on conflict (provider, event_id) do nothing', [provider, event.id, event.type]);
  const seen = await deps.db.pool.query<{ processed_at: Date | null }>('select processed_at from provider_webhook_events where provider = $1 and event_id = $2', [provider, event.id]);
  // Handled before: a replay or the provider's duplicate. Not yet processed: an earlier try failed half-way; handling is idempotent.
  return seen.rows[0]?.processed_at === null;
}

export interface CallbackOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** Forged-callback alerts per source address: the first in this window raises one, the rest are only logged. */
export const FORGED_CALLBACK_ALERT_WINDOW_MS = 10 * 60_000;

async function reportForged(deps: WalletDeps, provider: Provider, reason: string, origin: CallbackOrigin | null): Promise<void> {
  const ip = origin?.ip ?? null;
  const recent = ip === null ? null : await deps.db.pool.query(
    `select 1 from security_events where event_type = 'callback.forged' and ip = $1 and occurred_at > now() - make_interval(secs => $2::double precision / 1000) limit 1`,
    [ip.slice(0, 64), FORGED_CALLBACK_ALERT_WINDOW_MS]);
  await recordSecurityEvent(deps.db.pool, { type: 'callback.forged', outcome: 'refused', actor: 'anonymous', origin: origin === null ? null : { ...origin, deviceToken: null },
    reasons: [provider, reason], details: { provider } });
  if (recent?.rowCount === 1) return;
  await deps.risk?.recordSignal({ signal: 'forged_callback', accountId: null, ip, ref: provider, message: `${provider} callback refused (${reason}) from ${ip ?? 'an unknown address'}` });
}

async function reportMismatch(deps: WalletDeps, provider: Provider, event: ProviderEvent, topUp: TopUpRow, origin: CallbackOrigin | null): Promise<void> {
  deps.log.warn({ provider, eventId: event.id, topUpId: topUp.id }, 'webhook amount differs from the top-up; ignored');
  await recordSecurityEvent(deps.db.pool, { type: 'callback.mismatch', outcome: 'refused', actor: 'anonymous', customerId: topUp.customer_id,
    origin: origin === null ? null : { ...origin, deviceToken: null }, reasons: [provider, 'amount'],
    details: { provider, topUpId: topUp.id, eventId: event.id, expectedMinor: topUp.amount_minor.toString(), claimedMinor: event.data.amount ?? null } });
  await deps.risk?.recordSignal({ signal: 'mismatching_callback', accountId: topUp.customer_id, ip: origin?.ip ?? null, ref: topUp.id,
    message: `${provider} callback for top-up ${topUp.id} claims ${event.data.amount ?? '?'} instead of ${topUp.amount_minor}` });
}

const FORGED_CODES: ReadonlySet<string> = new Set(['webhook_signature_invalid', 'webhook_timestamp_stale', 'webhook_invalid']);

export async function receiveProviderWebhook(deps: WalletDeps, provider: Provider, header: string | undefined, rawBody: Buffer, origin: CallbackOrigin | null = null): Promise<WebhookOutcome> {
  let event: ProviderEvent;
  try {
    event = verified(deps, provider, header, rawBody);
  } catch (error) {
    if (isKobanError(error) && FORGED_CODES.has(error.code)) await reportForged(deps, provider, error.code, origin);
    throw error;
  }
  const topUp = await topUpOf(deps, provider, event);
  if (topUp !== null && event.data.amount !== undefined && BigInt(event.data.amount) !== topUp.amount_minor) {
    await reportMismatch(deps, provider, event, topUp, origin);
    throw new KobanError('webhook_amount_mismatch');
  }
  if (!(await claimEvent(deps, provider, event))) return 'duplicate';
  if (topUp !== null) await advanceTopUp(deps, topUp.id);
  else if (provider === 'bank' && event.type.startsWith('payout_') && event.data.reference !== undefined && /^wd-/.test(event.data.reference)) {
    // A withdrawal's payout: the withdrawal re-reads the payout from the bank; the body itself decides nothing.
    const withdrawalId = event.data.reference.slice(3);
    if (isUuid(withdrawalId)) await deps.payoutListener.advance?.(withdrawalId);
  } else if (provider === 'bank' && event.data.mandateId === undefined && event.data.id !== undefined && event.type.startsWith('mandate_')) await refreshMandate(deps, event.data.id);
  await deps.db.pool.query('update provider_webhook_events set processed_at = now() where provider = $1 and event_id = $2', [provider, event.id]);
  return topUp === null ? 'ignored' : 'processed';
}

async function refreshMandate(deps: WalletDeps, mandateId: string): Promise<void> {
  if (deps.bank === null || !/^mdt_[A-Za-z0-9_-]{1,100}$/.test(mandateId)) return;
  const fetched = await deps.bank.getMandate(mandateId);
  if (!fetched.ok) return;
  if (fetched.value.status === 'active') await applyMandateStatus(deps.db.pool, mandateId, 'active', null);
  if (fetched.value.status === 'failed' || fetched.value.status === 'expired') await applyMandateStatus(deps.db.pool, mandateId, 'failed', fetched.value.failureCode ?? fetched.value.status);
}

/**
 * Social sign-in wired to the OIDC relying-party core in ../social (see its README for the contract).
 * - The transaction is stored server-side, bound to a random HttpOnly `__Host-` cookie (and, to link,
 *   to the signed-in session), and taken (deleted) before the callback is processed: single use.
 * - An external identity is keyed by (issuer, subject) only (FED-05). Sign-in works only for an
 *   identity already linked; it never creates an account and never matches by e-mail (LINK-02).
 * - Signing in with a provider is a first factor like a password: a new device still needs Koban's
 *   own second factor (LINK-05). Linking needs a fresh step-up and the risk engine's consent;
 *   unlinking keeps another way in. A social sign-in goes through the same risk check as a password.
 */
import { withTransaction, sqlState, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import type { Config } from '../../platform/config.ts';
import type { IdentityDeps } from '../deps.ts';
import { afterFirstFactor, riskDeviceId, type LoginOutcome } from '../login/login.ts';
import { refuseDuringRecoveryCooldown } from '../recovery/cooldown.ts';
import { randomToken, sha256 } from '../secrets.ts';
import type { Session } from '../sessions/sessions.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import { requireStepUp } from '../step-up/step-up.ts';
import { createProviderRegistry, finishSocialLogin, SocialLoginError, startSocialLogin, TRANSACTION_MAX_AGE_MS, type ProviderRegistry, type SocialLoginTransaction } from '../social/index.ts';

export type SocialPurpose = 'login' | 'link';
export type SocialOutcome = LoginOutcome | { status: 'linked'; providerId: string };
export const LINKED_IDENTITIES_MAX = 16;

export interface LinkedIdentity { readonly id: string; readonly providerId: string; readonly linkedAt: Date }

export interface SocialLogin {
  providers(): Array<{ id: string; enabled: boolean }>;
  start(providerId: string, purpose: SocialPurpose, session: Session | null, grant: string | undefined): Promise<{ authorizationUrl: URL; bindingToken: string }>;
  finish(providerId: string, callbackUrl: URL, bindingToken: string | null, session: Session | null, deviceToken: string, origin: RequestOrigin): Promise<SocialOutcome>;
  unlink(session: Session, identityId: string, grant: string | undefined, origin: RequestOrigin): Promise<void>;
  list(customerId: string): Promise<LinkedIdentity[]>;
}

export function callbackPath(providerId: string): string {
  return `/v1/customer/social/${providerId}/callback`;
}

function mapSocialError(error: unknown): KobanError {
  if (error instanceof KobanError) return error;
  if (error instanceof SocialLoginError) {
    if (error.code === 'provider_unknown') return new KobanError('social_provider_unknown', { cause: error });
    if (error.code === 'provider_error') return new KobanError('social_provider_error', { cause: error });
    // Which check failed stays in the log (cause), never in the answer.
    return new KobanError('social_login_failed', { cause: error });
  }
  throw error;
}

async function takeTransaction(db: Queryable, bindingToken: string | null): Promise<{ transaction: SocialLoginTransaction; purpose: SocialPurpose; sessionId: string | null; customerId: string | null } | null> {
  if (bindingToken === null) return null;
  const row = (await db.query<{ provider_id: string; purpose: SocialPurpose; session_id: string | null; customer_id: string | null; state: string; nonce: string; code_verifier: string; created_at_ms: bigint }>(
    'delete from social_transactions where binding_hash = $1 and expires_at > now() returning *',
    [sha256(bindingToken)],
  )).rows[0];
  if (row === undefined) return null;
  return {
    transaction: { providerId: row.provider_id, state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, createdAtMs: Number(row.created_at_ms) },
    purpose: row.purpose, sessionId: row.session_id, customerId: row.customer_id,
  };
}

export function createSocialLogin(deps: IdentityDeps, publicUrl: string, nodeEnv: Config['nodeEnv']): SocialLogin | null {
  const settings = deps.config.socialProviders;
  if (settings.length === 0) return null;
  const enabled = new Map(settings.map((s) => [s.id, s.enabled]));
  const registry: ProviderRegistry = createProviderRegistry(settings.map((s) => ({
    id: s.id, issuer: new URL(s.issuer), clientId: s.clientId, clientSecret: s.clientSecret,
    redirectUri: new URL(callbackPath(s.id), publicUrl), idTokenSigningAlg: s.idTokenSigningAlg,
    // The core still allows http only for loopback issuers (the dev IdP).
    allowInsecureHttp: nodeEnv !== 'production',
  })));

  function requireEnabled(providerId: string): void {
    const on = enabled.get(providerId);
    if (on === undefined) throw new KobanError('social_provider_unknown');
    if (!on) throw new KobanError('social_provider_disabled');
  }

  /** The step-up taken at start already answers a `challenge`; `deny` and `review` stop the link. */
  async function refuseRiskyLink(session: Session, providerId: string, origin: RequestOrigin): Promise<void> {
    const { decision } = await deps.risk.assess({ kind: 'social_link', accountId: session.customerId, ref: providerId, ip: origin.ip,
      deviceId: origin.deviceToken === null ? null : riskDeviceId(origin.deviceToken) });
    if (decision === 'deny') throw new KobanError('risk_denied');
    if (decision === 'review') throw new KobanError('risk_held_for_review');
  }

  async function link(session: Session | null, tx: { sessionId: string | null; customerId: string | null }, providerId: string, issuer: string, subject: string, origin: RequestOrigin): Promise<SocialOutcome> {
    // The callback must arrive in the very session that started the link (LINK-01).
    if (session === null || session.id !== tx.sessionId || session.customerId !== tx.customerId) throw new KobanError('social_login_failed');
    await refuseRiskyLink(session, providerId, origin);
    await withTransaction(deps.db, async (client) => {
      try {
        await client.query('insert into social_identities (id, customer_id, provider_id, issuer, subject) values ($1, $2, $3, $4, $5)', [uuidv7(), session.customerId, providerId, issuer, subject]);
      } catch (error) {
        if (sqlState(error) === '23505') throw new KobanError('social_already_linked');
        throw error;
      }
      await announceSecurityEvent(client, { customerId: session.customerId, type: 'social.linked', origin, sessionId: session.id, details: { providerId } });
    });
    return { status: 'linked', providerId };
  }

  return {
    providers: () => settings.map((s) => ({ id: s.id, enabled: s.enabled })),
    async start(providerId, purpose, session, grant) {
      requireEnabled(providerId);
      if (purpose === 'link') {
        if (session === null) throw new KobanError('unauthenticated');
        await refuseDuringRecoveryCooldown(deps.db.pool, session.customerId);
        await requireStepUp(deps.db.pool, session, grant, 'link_social', { providerId });
      }
      const provider = await registry.get(providerId, Date.now()).catch((error: unknown) => { throw mapSocialError(error); });
      const { authorizationUrl, transaction } = await startSocialLogin(provider, Date.now());
      const bindingToken = randomToken();
      await deps.db.pool.query(
        `insert into social_transactions (binding_hash, provider_id, purpose, customer_id, session_id, state, nonce, code_verifier, created_at_ms, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10::double precision / 1000))`,
        [sha256(bindingToken), providerId, purpose, purpose === 'link' ? session?.customerId ?? null : null, purpose === 'link' ? session?.id ?? null : null,
          transaction.state, transaction.nonce, transaction.codeVerifier, transaction.createdAtMs, TRANSACTION_MAX_AGE_MS],
      );
      return { authorizationUrl, bindingToken };
    },
    async finish(providerId, callbackUrl, bindingToken, session, deviceToken, origin) {
      requireEnabled(providerId);
      const taken = await takeTransaction(deps.db.pool, bindingToken);
      if (taken === null) {
        await recordSecurityEvent(deps.db.pool, { type: 'social.callback', outcome: 'refused', actor: 'anonymous', origin, reasons: ['no_transaction'] });
        throw new KobanError('social_login_failed');
      }
      const provider = await registry.get(providerId, Date.now()).catch((error: unknown) => { throw mapSocialError(error); });
      const identity = await finishSocialLogin(provider, taken.transaction, callbackUrl, Date.now()).catch(async (error: unknown) => {
        const mapped = mapSocialError(error);
        await recordSecurityEvent(deps.db.pool, { type: 'social.callback', outcome: 'refused', actor: 'anonymous', origin, reasons: [error instanceof SocialLoginError ? error.code : 'error'] });
        throw mapped;
      });
      if (taken.purpose === 'link') return link(session, taken, providerId, identity.issuer, identity.subject, origin);
      const linked = (await deps.db.pool.query<{ customer_id: string }>(
        `select s.customer_id from social_identities s join customers c on c.id = s.customer_id where s.issuer = $1 and s.subject = $2 and c.status = 'active'`,
        [identity.issuer, identity.subject],
      )).rows[0];
      if (linked === undefined) {
        await recordSecurityEvent(deps.db.pool, { type: 'social.login', outcome: 'refused', actor: 'anonymous', origin, reasons: ['not_linked'], details: { providerId } });
        throw new KobanError('social_login_failed');
      }
      return afterFirstFactor(deps, linked.customer_id, 'social', deviceToken, origin);
    },
    async unlink(session, identityId, grant, origin) {
      await withTransaction(deps.db, async (client) => {
        await requireStepUp(client, session, grant, 'unlink_social', { identityId });
        const removed = await client.query<{ provider_id: string }>('delete from social_identities where id = $1 and customer_id = $2 returning provider_id', [identityId, session.customerId]);
        const providerIdRemoved = removed.rows[0]?.provider_id;
        if (providerIdRemoved === undefined) throw new KobanError('not_found', { detail: 'no such linked account' });
        const remaining = await client.query(
          `select 1 from password_credentials where customer_id = $1 union all select 1 from passkeys where customer_id = $1 union all select 1 from social_identities where customer_id = $1 limit 1`,
          [session.customerId],
        );
        if (remaining.rowCount === 0) throw new KobanError('last_sign_in_method');
        await announceSecurityEvent(client, { customerId: session.customerId, type: 'social.unlinked', origin, sessionId: session.id, details: { providerId: providerIdRemoved } });
      });
    },
    async list(customerId) {
      const result = await deps.db.pool.query<{ id: string; provider_id: string; linked_at: Date }>(
        'select id, provider_id, linked_at from social_identities where customer_id = $1 order by linked_at limit $2', [customerId, LINKED_IDENTITIES_MAX]);
      return result.rows.map((row) => ({ id: row.id, providerId: row.provider_id, linkedAt: row.linked_at }));
    },
  };
}

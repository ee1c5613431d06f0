/**
 * Break-glass (issue 14): an operator who lost their passkey signs in with password + TOTP only with a second
 * operator's approval (four eyes). (1) The operator asks with password, code and a reason and receives a
 * request token; (2) another operator, signed in with a passkey and allowed to approve, approves it with a
 * reason; (3) the first operator, from the same browser and network, presents the token and a fresh code and
 * receives a break-glass session (one hour at most), in which they can enrol a new passkey. Every step is
 * audited and raised as a platform security event (`operator.break_glass_*`, the console's security events),
 * so every break-glass is seen, not only recorded.
 */
import { randomBytes } from 'node:crypto';
import { withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { isUuid, uuidv7 } from '../../platform/ids.ts';
import { recordSecurityEvent } from '../../platform/audit/security-log.ts';
import { systemClock } from '../../platform/clock.ts';
import { networkOf } from '../../identity/login/throttle.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { sha256 } from './credentials.ts';
import { checkPasswordAndTotp, claimTotpStep, startSession, toOperator, type OperatorPrincipal, type OperatorsOptions, type RequestContext, type SignInResult } from './operators.ts';

export const BREAK_GLASS_REQUEST_MS = 30 * 60_000;
export const BREAK_GLASS_SESSION_MS = 60 * 60_000;
const PENDING_MAX = 100;

export interface BreakGlassRequestView { id: string; operatorId: string; email: string; reason: string; requestedAt: Date; expiresAt: Date; approvedBy: string | null; ip: string | null }

export interface BreakGlass {
  request(input: { email: string; password: string; totpCode: string; reason: string }, context: RequestContext): Promise<{ requestId: string; token: string; expiresAt: Date }>;
  pending(): Promise<BreakGlassRequestView[]>;
  approve(requestId: string, approver: OperatorPrincipal, reason: string, context: RequestContext): Promise<void>;
  complete(requestId: string, input: { token: string; email: string; password: string; totpCode: string }, context: RequestContext): Promise<SignInResult>;
}

export function createBreakGlass(db: Database, options: OperatorsOptions): BreakGlass {
  const now = () => (options.clock ?? systemClock)();
  return {
    async request(input, context) {
      const checked = await checkPasswordAndTotp(db, options, input, context);
      const token = randomBytes(32).toString('base64url');
      const id = uuidv7();
      const expiresAt = new Date(checked.now.getTime() + BREAK_GLASS_REQUEST_MS);
      await withTransaction(db, async (client) => {
        if (!(await claimTotpStep(client, checked, context))) throw new KobanError('operator_sign_in_failed');
        await client.query('insert into operator_break_glass (id, operator_id, reason, token_hash, ip, user_agent, requested_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8)',
          [id, checked.row.id, input.reason, sha256(token), context.ip, context.userAgent?.slice(0, 512) ?? null, checked.now, expiresAt]);
        await recordAudit(client, { actor: { kind: 'operator', id: checked.row.id }, action: 'operator.break_glass_requested', target: { kind: 'break_glass', id }, reason: input.reason,
          outcome: 'success', ip: context.ip, requestId: context.requestId });
        await alert(client, 'operator.break_glass_requested', checked.row.id, id, context);
      });
      return { requestId: id, token, expiresAt };
    },
    async pending() {
      const rows = await db.pool.query<{ id: string; operator_id: string; email: string; reason: string; requested_at: Date; expires_at: Date; approved_by: string | null; ip: string | null }>(
        `select b.id, b.operator_id, o.email, b.reason, b.requested_at, b.expires_at, b.approved_by, b.ip from operator_break_glass b join operators o on o.id = b.operator_id
         where b.used_at is null and b.expires_at > $1 order by b.requested_at desc limit $2`, [now(), PENDING_MAX]);
      return rows.rows.map((r) => ({ id: r.id, operatorId: r.operator_id, email: r.email, reason: r.reason, requestedAt: r.requested_at, expiresAt: r.expires_at, approvedBy: r.approved_by, ip: r.ip }));
    },
    async approve(requestId, approver, reason, context) {
      // Only an operator who signed in with a passkey approves: two break-glass sessions cannot vouch for each other.
      if (approver.sessionKind !== 'full') throw new KobanError('operator_passkey_required');
      await withTransaction(db, async (client) => {
        const row = (await client.query<{ operator_id: string; approved_by: string | null }>(
          'select operator_id, approved_by from operator_break_glass where id = $1 and used_at is null and expires_at > $2 for update', [isUuid(requestId) ? requestId : null, now()])).rows[0];
        if (row === undefined) throw new KobanError('break_glass_not_found');
        if (row.operator_id === approver.operatorId) throw new KobanError('break_glass_self_approval');
        await client.query('update operator_break_glass set approved_by = $2, approved_at = $3, approval_reason = $4 where id = $1', [requestId, approver.operatorId, now(), reason]);
        await recordAudit(client, { actor: { kind: 'operator', id: approver.operatorId }, action: 'operator.break_glass_approved', target: { kind: 'break_glass', id: requestId }, reason,
          outcome: 'success', details: { operatorId: row.operator_id }, ip: context.ip, requestId: context.requestId });
        await alert(client, 'operator.break_glass_approved', row.operator_id, requestId, context);
      });
    },
    complete: (requestId, input, context) => complete(db, options, requestId, input, context),
  };
}

async function complete(db: Database, options: OperatorsOptions, requestId: string, input: { token: string; email: string; password: string; totpCode: string }, context: RequestContext): Promise<SignInResult> {
  const checked = await checkPasswordAndTotp(db, options, input, context);
  return withTransaction(db, async (client) => {
    const row = (await client.query<{ operator_id: string; token_hash: Buffer; approved_by: string | null; ip: string | null; user_agent: string | null }>(
      'select operator_id, token_hash, approved_by, ip, user_agent from operator_break_glass where id = $1 and used_at is null and expires_at > $2 for update',
      [isUuid(requestId) ? requestId : null, checked.now])).rows[0];
    const sameRequester = row !== undefined && row.operator_id === checked.row.id && row.token_hash.equals(sha256(input.token.slice(0, 100)))
      && row.user_agent === (context.userAgent?.slice(0, 512) ?? null) && networkOf(row.ip ?? '') === networkOf(context.ip ?? '');
    if (!sameRequester) throw new KobanError('break_glass_not_found');
    if (row.approved_by === null) throw new KobanError('break_glass_not_approved');
    if (!(await claimTotpStep(client, checked, context))) throw new KobanError('operator_sign_in_failed');
    await client.query('update operator_break_glass set used_at = $2 where id = $1', [requestId, checked.now]);
    const expiresAt = new Date(checked.now.getTime() + Math.min(BREAK_GLASS_SESSION_MS, options.absoluteTimeoutMs));
    const session = await startSession(client, checked.row.id, 'break_glass', checked.now, expiresAt, context);
    await recordAudit(client, { actor: { kind: 'operator', id: checked.row.id }, action: 'operator.sign_in', outcome: 'success', target: { kind: 'break_glass', id: requestId },
      details: { role: checked.row.role, session: 'break_glass', approvedBy: row.approved_by }, ip: context.ip, requestId: context.requestId });
    await alert(client, 'operator.break_glass_used', checked.row.id, requestId, context);
    return { operator: toOperator(checked.row), ...session, expiresAt, sessionKind: 'break_glass' as const };
  });
}

/** Operators see every break-glass step platform-wide in the security events (GET /v1/ops/security-events). */
async function alert(client: Queryable, type: string, operatorId: string, requestId: string, context: RequestContext): Promise<void> {
  await recordSecurityEvent(client, { type, outcome: 'success', actor: 'system', customerId: null,
    origin: { ip: context.ip, userAgent: context.userAgent, deviceToken: null }, details: { operatorId, breakGlassId: requestId } });
}

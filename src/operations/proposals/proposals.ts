/**
 * Four eyes (ASVS 2.3.5): a money-moving or incident action is proposed by one operator and approved
 * or rejected by another. The proposer can never decide their own proposal: refused here, and by a
 * CHECK constraint in the database. Proposing, approving and rejecting are audited in the same
 * transaction as the state change; what approval unlocks (executing a batch, the incident reset) is
 * done by its own module, which checks the proposal is approved.
 */
import type pg from 'pg';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { decodeCursor, pageLimit, pageAtSql, pageOf } from '../../platform/cursor.ts';
import { isUuid, uuidv7 } from '../../platform/ids.ts';
import { recordAudit } from '../audit/audit-log.ts';

export type ProposalKind = 'compensation_batch' | 'incident_reset_all' | 'merchant_reversal' | 'abolition' | 'campaign_budget';
export type ProposalStatus = 'pending' | 'approved' | 'rejected';

export interface Proposal {
  readonly id: string;
  readonly kind: ProposalKind;
  readonly subjectId: string;
  readonly summary: Readonly<Record<string, unknown>>;
  readonly reason: string;
  readonly status: ProposalStatus;
  readonly proposedBy: string;
  readonly proposedAt: Date;
  readonly decidedBy: string | null;
  readonly decidedAt: Date | null;
  readonly decisionReason: string | null;
}

export interface Decider {
  readonly operatorId: string;
  readonly reason: string;
  readonly ip?: string | null;
  readonly requestId?: string | null;
}

export interface Proposals {
  /** Inside the caller's transaction, so the subject's state and its proposal change together. */
  propose(client: pg.PoolClient, input: { kind: ProposalKind; subjectId: string; summary: Record<string, unknown>; by: Decider }): Promise<Proposal>;
  decide(proposalId: string, approve: boolean, by: Decider, onApproved?: (client: pg.PoolClient, proposal: Proposal) => Promise<void>,
    onRejected?: (client: pg.PoolClient, proposal: Proposal) => Promise<void>): Promise<Proposal>;
  get(proposalId: string): Promise<Proposal>;
  list(status: ProposalStatus | null): Promise<Proposal[]>;
  /** Newest first, a page at a time (`before`: the previous page's `nextBefore`; issue 13: paging on every operator list). */
  page(status: ProposalStatus | null, query: { limit?: number; before?: string }): Promise<{ proposals: Proposal[]; nextBefore: string | null }>;
}

interface ProposalRow {
  id: string; kind: ProposalKind; subject_id: string; summary: Record<string, unknown>; reason: string; status: ProposalStatus;
  proposed_by: string; proposed_at: Date; decided_by: string | null; decided_at: Date | null; decision_reason: string | null;
}

export function createProposals(db: Database): Proposals {
  return {
    async propose(client, input) {
      requireReason(input.by.reason);
      const inserted = await client.query<ProposalRow>(
        `insert into proposals (id, kind, subject_id, summary, reason, proposed_by) values ($1, $2, $3, $4, $5, $6)
         on conflict (kind, subject_id) where status = 'pending' do nothing returning *`,
        [uuidv7(), input.kind, input.subjectId, JSON.stringify(input.summary), input.by.reason, input.by.operatorId]);
      const row = inserted.rows[0];
      if (row === undefined) throw new KobanError('proposal_not_pending', { detail: `${input.kind} ${input.subjectId} already has a pending proposal` });
      await recordAudit(client, { actor: { kind: 'operator', id: input.by.operatorId }, action: 'proposal.proposed', target: { kind: 'proposal', id: row.id },
        reason: input.by.reason, outcome: 'success', details: { kind: input.kind, subjectId: input.subjectId, ...input.summary }, ip: input.by.ip ?? null, requestId: input.by.requestId ?? null });
      return toProposal(row);
    },
    async decide(proposalId, approve, by, onApproved, onRejected) {
      requireReason(by.reason);
      return withTransaction(db, async (client) => {
        const locked = await client.query<ProposalRow>('select * from proposals where id = $1 for update', [isUuid(proposalId) ? proposalId : null]);
        const row = locked.rows[0];
        if (row === undefined) throw new KobanError('proposal_not_found');
        if (row.status !== 'pending') throw new KobanError('proposal_not_pending', { detail: `proposal ${proposalId} is ${row.status}` });
        if (row.proposed_by === by.operatorId) {
          throw new KobanError('proposal_self_approval', { detail: 'another operator must decide this proposal' });
        }
        const updated = await client.query<ProposalRow>(
          `update proposals set status = $2, decided_by = $3, decided_at = now(), decision_reason = $4 where id = $1 returning *`,
          [proposalId, approve ? 'approved' : 'rejected', by.operatorId, by.reason]);
        const decided = updated.rows[0];
        assert(decided !== undefined, 'proposal decided');
        await recordAudit(client, { actor: { kind: 'operator', id: by.operatorId }, action: approve ? 'proposal.approved' : 'proposal.rejected',
          target: { kind: 'proposal', id: proposalId }, reason: by.reason, outcome: 'success', details: { kind: row.kind, subjectId: row.subject_id, proposedBy: row.proposed_by },
          ip: by.ip ?? null, requestId: by.requestId ?? null });
        const proposal = toProposal(decided);
        if (approve) await onApproved?.(client, proposal);
        else await onRejected?.(client, proposal);
        return proposal;
      });
    },
    async get(proposalId) {
      const found = await db.pool.query<ProposalRow>('select * from proposals where id = $1', [isUuid(proposalId) ? proposalId : null]);
      if (found.rows[0] === undefined) throw new KobanError('proposal_not_found');
      return toProposal(found.rows[0]);
    },
    async list(status) {
      const found = await db.pool.query<ProposalRow>('select * from proposals where ($1::text is null or status = $1) order by proposed_at desc limit 200', [status]);
      return found.rows.map(toProposal);
    },
    async page(status, query) {
      const limit = pageLimit(query.limit);
      const before = decodeCursor(query.before);
      const found = await db.pool.query<ProposalRow & { page_at: string }>(
        `select *, ${pageAtSql('proposed_at')} as page_at from proposals where ($1::text is null or status = $1) and ($3::timestamptz is null or (proposed_at, id) < ($3, $4::uuid))
         order by proposed_at desc, id desc limit $2`, [status, limit + 1, before?.at ?? null, before !== null && isUuid(before.id) ? before.id : null]);
      const page = pageOf(found.rows, limit, (row) => ({ at: row.page_at, id: row.id }));
      return { proposals: page.items.map(toProposal), nextBefore: page.nextBefore };
    },
  };
}

/** Refuses unless this proposal exists, is for this subject, and was approved by a second operator. */
export async function requireApproved(client: pg.PoolClient, proposalId: string | null, kind: ProposalKind, subjectId: string): Promise<ProposalRow> {
  const found = await client.query<ProposalRow>('select * from proposals where id = $1', [proposalId !== null && isUuid(proposalId) ? proposalId : null]);
  const row = found.rows[0];
  if (row === undefined || row.kind !== kind || row.subject_id !== subjectId) throw new KobanError('proposal_not_found', { detail: `no ${kind} proposal for ${subjectId}` });
  if (row.status !== 'approved') throw new KobanError('proposal_not_pending', { detail: `the proposal is ${row.status}, not approved` });
  assert(row.decided_by !== null && row.decided_by !== row.proposed_by, 'an approved proposal was decided by a second operator');
  return row;
}

function toProposal(row: ProposalRow): Proposal {
  return { id: row.id, kind: row.kind, subjectId: row.subject_id, summary: row.summary, reason: row.reason, status: row.status, proposedBy: row.proposed_by,
    proposedAt: row.proposed_at, decidedBy: row.decided_by, decidedAt: row.decided_at, decisionReason: row.decision_reason };
}

function requireReason(reason: string): void {
  const length = reason.trim().length;
  if (length < 3 || length > 1000) throw new KobanError('validation_failed', { detail: 'a reason of 3 to 1000 characters is required', errors: [{ pointer: '/body/reason', message: 'must be 3 to 1000 characters' }] });
}

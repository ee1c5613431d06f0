/**
 * The incident action 7pay eventually took (30 Jul 2019): every customer must reset their password
 * and every session ends. Four eyes: one operator proposes with a reason, a different administrator
 * approves, and approval runs the action through identity in the same step; all of it audited.
 */
import { withTransaction, type Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { recordAudit } from './audit/audit-log.ts';
import { required, type OperationsAdapters } from './adapters.ts';
import type { Decider, Proposal, Proposals } from './proposals/proposals.ts';

export const RESET_ALL_SUBJECT = 'all_customers';

export interface Incident {
  proposeResetAll(by: Decider): Promise<Proposal>;
  decideResetAll(proposalId: string, approve: boolean, by: Decider): Promise<{ proposal: Proposal; customers: number | null; sessions: number | null }>;
}

export function createIncident(db: Database, proposals: Proposals, adapters: OperationsAdapters): Incident {
  return {
    proposeResetAll: (by) => withTransaction(db, (client) => proposals.propose(client, { kind: 'incident_reset_all', subjectId: RESET_ALL_SUBJECT, summary: {}, by })),
    async decideResetAll(proposalId, approve, by) {
      const proposal = await proposals.get(proposalId);
      if (proposal.kind !== 'incident_reset_all') throw new KobanError('proposal_not_found', { detail: `${proposalId} is not an incident proposal` });
      const identity = required(adapters.identity, 'identity (sessions and credentials)');
      const decided = await proposals.decide(proposalId, approve, by);
      if (!approve) return { proposal: decided, customers: null, sessions: null };
      // After the approval commits, never inside it: the reset runs in batches, each its own transaction
      // (a transaction cannot reach the pool, and PGlite has one connection). If it stops half-way the
      // audit shows the approval and a failed execution, and a new proposal runs it again.
      const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>) => withTransaction(db, (client) => recordAudit(client, {
        actor: { kind: 'operator', id: by.operatorId }, action: 'incident.reset_all_executed', target: { kind: 'proposal', id: proposalId },
        reason: proposal.reason, outcome, details: { ...details, proposedBy: proposal.proposedBy }, ip: by.ip ?? null, requestId: by.requestId ?? null }));
      let counts: { customers: number; sessions: number };
      try {
        counts = await identity.forceResetAllCustomers(proposal.reason);
      } catch (error) {
        await audit('failure', { error: (error as Error).message });
        throw error;
      }
      await audit('success', counts);
      return { proposal: decided, customers: counts.customers, sessions: counts.sessions };
    },
  };
}

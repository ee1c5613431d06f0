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
      let counts: { customers: number; sessions: number } | null = null;
      const decided = await proposals.decide(proposalId, approve, by, async (client) => {
        counts = await identity.forceResetAllCustomers(proposal.reason);
        await recordAudit(client, { actor: { kind: 'operator', id: by.operatorId }, action: 'incident.reset_all_executed', target: { kind: 'proposal', id: proposalId },
          reason: proposal.reason, outcome: 'success', details: { ...counts, proposedBy: proposal.proposedBy }, ip: by.ip ?? null, requestId: by.requestId ?? null });
      });
      const done = counts as { customers: number; sessions: number } | null;
      return { proposal: decided, customers: done?.customers ?? null, sessions: done?.sessions ?? null };
    },
  };
}

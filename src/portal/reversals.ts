/**
 * Reversing a merchant's payments from compromised wallets (issue 13), four eyes: one operator proposes
 * the payments (each must be this merchant's, completed, with something left to refund), a different
 * operator approves, and approval refunds each through the payments module's own refund — so the money
 * goes back only to the wallet that paid, by the same rules and ledger legs as any refund. Each refund's
 * merchantRefundId is derived from (proposal, payment): executing again (after a partial failure) answers
 * the refunds already made and makes only the missing ones, never a second refund. Audited throughout.
 */
import { createHash } from 'node:crypto';
import { recordAudit } from '../operations/audit/audit-log.ts';
import type { Decider, Proposal, Proposals } from '../operations/proposals/proposals.ts';
import { withTransaction } from '../platform/db/database.ts';
import { isKobanError, KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { readSale } from './reads.ts';
import type { PortalDeps } from './service.ts';

export const REVERSAL_PAYMENTS_MAX = 200;

interface ReversalLine { readonly paymentId: string; readonly amountMinor: string }
export interface ReversalOutcome { readonly paymentId: string; readonly amountMinor: string; readonly outcome: 'refunded' | 'failed'; readonly refundId: string | null; readonly failure: string | null }

/** `caseId`: the merchant's case the reversal was proposed from; its decision and execution are recorded there too. */
export async function proposeMerchantReversal(deps: PortalDeps, proposals: Proposals, merchantId: string, paymentIds: readonly string[], by: Decider, caseId: string | null = null): Promise<Proposal> {
  const unique = [...new Set(paymentIds)];
  if (unique.length === 0 || unique.length > REVERSAL_PAYMENTS_MAX || !unique.every(isUuid)) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/paymentIds', message: `1–${REVERSAL_PAYMENTS_MAX} payment ids` }] });
  }
  const lines: ReversalLine[] = [];
  for (const paymentId of unique) {
    const sale = await readSale(deps.db, merchantId, paymentId);
    const refundable = sale.payment.amountMinor - sale.payment.refundedMinor;
    if (sale.payment.status !== 'COMPLETED' || refundable <= 0n) {
      throw new KobanError('payment_not_refundable', { detail: `payment ${paymentId} is ${sale.payment.status} with ${refundable} left to refund` });
    }
    lines.push({ paymentId, amountMinor: refundable.toString() });
  }
  const totalMinor = lines.reduce((sum, line) => sum + BigInt(line.amountMinor), 0n).toString();
  const summary = { merchantId, payments: lines, totalMinor, ...(caseId === null ? {} : { caseId }) };
  return withTransaction(deps.db, (client) => proposals.propose(client, { kind: 'merchant_reversal', subjectId: merchantId, summary, by }));
}

export async function decideMerchantReversal(deps: PortalDeps, proposals: Proposals, proposalId: string, approve: boolean, by: Decider): Promise<{ proposal: Proposal; outcomes: ReversalOutcome[] | null }> {
  await requireReversal(proposals, proposalId);
  const decided = await proposals.decide(proposalId, approve, by);
  if (!approve) {
    await noteOnCase(deps, decided, 'case.merchant_reversal_rejected', `reversal ${proposalId} rejected by the second operator`, by);
    return { proposal: decided, outcomes: null };
  }
  // After the approval commits, never inside it: each refund is the payments module's own, with its own commits.
  return { proposal: decided, outcomes: await executeMerchantReversal(deps, proposals, proposalId, by) };
}

/** Runs an approved reversal (again): refunds already made answer as they were; only missing ones are made. */
export async function executeMerchantReversal(deps: PortalDeps, proposals: Proposals, proposalId: string, by: Decider): Promise<ReversalOutcome[]> {
  const proposal = await requireReversal(proposals, proposalId);
  if (proposal.status !== 'approved' || proposal.decidedBy === null || proposal.decidedBy === proposal.proposedBy) {
    throw new KobanError('proposal_not_pending', { detail: `the reversal is ${proposal.status}, not approved by a second operator` });
  }
  const merchantId = String(proposal.summary.merchantId);
  const lines = proposal.summary.payments as ReversalLine[];
  const outcomes: ReversalOutcome[] = [];
  for (const line of lines) {
    const merchantRefundId = `rv-${createHash('sha256').update(`${proposalId}:${line.paymentId}`).digest('base64url').slice(0, 40)}`;
    try {
      const refund = await deps.payments.refundPayment({ merchantId, merchantRefundId, paymentId: line.paymentId, amountMinor: BigInt(line.amountMinor), reason: `reversal ${proposalId}`.slice(0, 255), requestedAt: null });
      outcomes.push({ ...line, outcome: refund.status === 'REFUNDED' ? 'refunded' : 'failed', refundId: refund.id, failure: refund.failureCode });
    } catch (error) {
      if (!isKobanError(error)) throw error;
      outcomes.push({ ...line, outcome: 'failed', refundId: null, failure: error.code });
    }
  }
  const failed = outcomes.filter((o) => o.outcome === 'failed').length;
  await withTransaction(deps.db, (client) => recordAudit(client, {
    actor: { kind: 'operator', id: by.operatorId }, action: 'merchant.reversal_executed', target: { kind: 'merchant', id: merchantId }, reason: proposal.reason,
    outcome: failed === 0 ? 'success' : 'failure', details: { proposalId, proposedBy: proposal.proposedBy, approvedBy: proposal.decidedBy, refunded: outcomes.length - failed, failed, outcomes },
    ip: by.ip ?? null, requestId: by.requestId ?? null,
  }));
  await noteOnCase(deps, proposal, 'case.merchant_reversal_executed', `reversal ${proposalId} approved by ${proposal.decidedBy}: ${outcomes.length - failed} refunded, ${failed} failed`, by);
  return outcomes;
}

/** A reversal proposed from a merchant's case tells the case how it ended, even once the case is closed. */
async function noteOnCase(deps: PortalDeps, proposal: Proposal, action: string, note: string, by: Decider): Promise<void> {
  const caseId = proposal.summary.caseId;
  if (typeof caseId !== 'string' || !isUuid(caseId)) return;
  try {
    await deps.cases.recordAction(caseId, action, note, { actor: { kind: 'operator', id: by.operatorId }, reason: by.reason, ip: by.ip ?? null, requestId: by.requestId ?? null }, { requireOpen: false });
  } catch (error) {
    // The refunds are made and audited; a case that vanished must not turn that true answer into an error.
    if (!isKobanError(error)) throw error;
  }
}

async function requireReversal(proposals: Proposals, proposalId: string): Promise<Proposal> {
  const proposal = await proposals.get(proposalId);
  if (proposal.kind !== 'merchant_reversal') throw new KobanError('proposal_not_found', { detail: `${proposalId} is not a merchant reversal` });
  return proposal;
}

/**
 * A case about a merchant (`merchant:<id>`, opened by risk's merchant_convergence rule: money converging on one
 * merchant from recently changed accounts) and what an operator does about it from the case (issue 13):
 * suspend the merchant or one store (every payment surface refuses at once: the payments pipeline's standing
 * step), hold its payouts, and propose reversing its payments from compromised wallets (four eyes:
 * reversals.ts). Each action is the merchants module's own (which audits it with the change); the case then
 * records it as a note and an audit event, so the case tells the whole story. Containment never waits for the
 * note: the change commits first.
 *
 * The payments offered for a reversal are the merchant's completed payments of the last 30 days that this
 * case's alerts name, or whose payer has an open case or one closed as fraud — the operator picks among them.
 */
import { setMerchantStatus, setPayoutHold, readMerchantProfile, type MerchantProfile } from '../merchants/onboarding.ts';
import type { StaffRequestContext } from '../merchants/staff.ts';
import { listStores, setStoreStatus, type Store } from '../merchants/stores.ts';
import { caseMerchantId, type ActionContext, type CaseDetail } from '../operations/cases/cases.ts';
import type { Proposal } from '../operations/proposals/proposals.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { proposeMerchantReversal, REVERSAL_PAYMENTS_MAX } from './reversals.ts';
import { merchantsDepsOf, type PortalDeps } from './service.ts';

const SUSPECT_WINDOW_MS = 30 * 86_400_000;
/** Payers with a case looked at, most recent first: bounded, as every list. */
const COMPROMISED_PAYERS_MAX = 2_000;

export interface SuspectPayment {
  readonly paymentId: string;
  readonly merchantPaymentId: string;
  readonly customerId: string | null;
  readonly storeId: string | null;
  readonly amountMinor: bigint;
  readonly refundableMinor: bigint;
  readonly acceptedAt: Date | null;
  /** Why it is offered: an alert of this case names it, and/or its payer has a case of their own. */
  readonly alerted: boolean;
  readonly payerCase: boolean;
}

export interface MerchantCaseView {
  readonly caseId: string;
  readonly merchant: MerchantProfile;
  readonly stores: readonly Store[];
  readonly suspectPayments: readonly SuspectPayment[];
  /** This merchant's reversal proposals still waiting for a second operator. */
  readonly pendingReversals: readonly Proposal[];
}

/** The merchant a case is about; a customer's case has customer actions instead. */
export async function merchantOfCase(deps: PortalDeps, caseId: string): Promise<{ detail: CaseDetail; merchantId: string }> {
  const detail = await deps.cases.get(caseId);
  const merchantId = caseMerchantId(detail.accountId);
  if (merchantId === null) throw new KobanError('case_subject_mismatch', { detail: 'this case is about a customer, not a merchant' });
  return { detail, merchantId };
}

export async function readMerchantCase(deps: PortalDeps, caseId: string): Promise<MerchantCaseView> {
  const { merchantId } = await merchantOfCase(deps, caseId);
  const [merchant, stores, suspectPayments, proposals] = [
    await readMerchantProfile(deps.db, merchantId), await listStores(deps.db, merchantId), await suspectPaymentsOf(deps, caseId, merchantId), await deps.proposals.list('pending'),
  ];
  const pendingReversals = proposals.filter((p) => p.kind === 'merchant_reversal' && p.subjectId === merchantId);
  return { caseId, merchant, stores, suspectPayments, pendingReversals };
}

async function suspectPaymentsOf(deps: PortalDeps, caseId: string, merchantId: string): Promise<SuspectPayment[]> {
  const since = new Date(deps.now().getTime() - SUSPECT_WINDOW_MS);
  const alerted = await deps.db.pool.query<{ ref: string }>(
    `select distinct e.event_ref as ref from case_alerts a join risk_events e on e.id = a.risk_event_id where a.case_id = $1 and e.kind = 'payment' and e.event_ref is not null limit $2`,
    [caseId, REVERSAL_PAYMENTS_MAX * 5]);
  const alertedIds = alerted.rows.map((row) => row.ref).filter(isUuid);
  // Customers' cases: open ones and those confirmed as fraud (a customer's case subject is the customer id).
  const payers = await deps.db.pool.query<{ account_id: string }>(
    `select account_id from cases where (status = 'open' or outcome = 'fraud_confirmed') and account_id not like 'merchant:%' order by updated_at desc limit $1`, [COMPROMISED_PAYERS_MAX]);
  const payerIds = payers.rows.map((row) => row.account_id).filter(isUuid);
  const found = await deps.db.pool.query<{ id: string; merchant_payment_id: string; customer_id: string | null; store_id: string | null; amount_minor: string; refunded_minor: string; accepted_at: Date | null; alerted: boolean; payer_case: boolean }>(
    `select p.id, p.merchant_payment_id, p.customer_id, p.store_id, p.amount_minor::text, p.refunded_minor::text, p.accepted_at,
       p.id = any($2::uuid[]) as alerted, coalesce(p.customer_id = any($3::uuid[]), false) as payer_case
     from payments p
     where p.merchant_id = $1 and p.status = 'COMPLETED' and p.refunded_minor < p.amount_minor
       and (p.id = any($2::uuid[]) or (p.customer_id = any($3::uuid[]) and p.created_at >= $4))
     order by p.created_at desc, p.id desc limit $5`,
    [merchantId, alertedIds, payerIds, since, REVERSAL_PAYMENTS_MAX]);
  return found.rows.map((row) => ({
    paymentId: row.id, merchantPaymentId: row.merchant_payment_id, customerId: row.customer_id, storeId: row.store_id, amountMinor: BigInt(row.amount_minor),
    refundableMinor: BigInt(row.amount_minor) - BigInt(row.refunded_minor), acceptedAt: row.accepted_at, alerted: row.alerted, payerCase: row.payer_case,
  }));
}

export async function setCaseMerchantStatus(deps: PortalDeps, caseId: string, status: 'suspended' | 'active', context: ActionContext): Promise<CaseDetail> {
  const { merchantId } = await merchantOfCase(deps, caseId);
  await setMerchantStatus(merchantsDepsOf(deps), merchantId, status, context.reason, context.actor, contextFor(context));
  const verb = status === 'suspended' ? 'suspended: no payment on any surface' : 'reactivated';
  return deps.cases.recordAction(caseId, status === 'suspended' ? 'case.merchant_suspended' : 'case.merchant_reactivated', `merchant ${merchantId} ${verb}`, context);
}

export async function setCaseStoreStatus(deps: PortalDeps, caseId: string, storeId: string, status: 'suspended' | 'active', context: ActionContext): Promise<CaseDetail> {
  const { merchantId } = await merchantOfCase(deps, caseId);
  if (!isUuid(storeId)) throw new KobanError('store_not_found');
  const store = await setStoreStatus(merchantsDepsOf(deps), merchantId, storeId, status, context.reason, context.actor, contextFor(context));
  return deps.cases.recordAction(caseId, status === 'suspended' ? 'case.store_suspended' : 'case.store_reopened', `store ${store.name} (${store.id}) ${status === 'suspended' ? 'suspended' : 'reopened'}`, context);
}

export async function setCasePayoutHold(deps: PortalDeps, caseId: string, held: boolean, context: ActionContext): Promise<CaseDetail> {
  const { merchantId } = await merchantOfCase(deps, caseId);
  await setPayoutHold(merchantsDepsOf(deps), merchantId, held, context.reason, context.actor, contextFor(context));
  return deps.cases.recordAction(caseId, held ? 'case.merchant_payouts_held' : 'case.merchant_payouts_released', `merchant ${merchantId} payouts ${held ? 'held' : 'released'}`, context);
}

/** Proposes the reversal (a second operator approves it at /v1/ops/merchant-reversals/{id}/decision); the case keeps its id. */
export async function proposeCaseReversal(deps: PortalDeps, caseId: string, paymentIds: readonly string[], context: ActionContext): Promise<{ proposal: Proposal; case: CaseDetail }> {
  const { detail, merchantId } = await merchantOfCase(deps, caseId);
  if (detail.status === 'closed') throw new KobanError('case_closed', { detail: `case ${caseId} is closed` });
  const proposal = await proposeMerchantReversal(deps, deps.proposals, merchantId, paymentIds, { operatorId: context.actor.id, reason: context.reason, ip: context.ip ?? null, requestId: context.requestId ?? null }, caseId);
  const total = String(proposal.summary.totalMinor);
  const recorded = await deps.cases.recordAction(caseId, 'case.merchant_reversal_proposed', `reversal ${proposal.id} of ${paymentIds.length} payment(s), ¥${total} proposed; another operator must approve`, context);
  return { proposal, case: recorded };
}

function contextFor(context: ActionContext): StaffRequestContext {
  return { ip: context.ip ?? null, userAgent: null, requestId: context.requestId ?? null };
}

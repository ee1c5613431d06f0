/**
 * Cases: risk alerts grouped per customer account (one open case per account), and what operators do
 * about them: assign, comment, freeze or unfreeze the wallet (ledger status: the balance stays, debits
 * stop, credits such as refunds still land), force a password and PIN reset, revoke sessions, close
 * with an outcome. Every action is a case note and an audit event in one transaction. A customer's
 * "this wasn't me" freezes their wallet first and opens the case second: containment never waits.
 */
import type pg from 'pg';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { decodeCursor, pageAtSql, pageOf } from '../../platform/cursor.ts';
import { isUuid, uuidv7 } from '../../platform/ids.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { ownedAccountId } from '../../ledger/owned-accounts.ts';
import { AccountCodes } from '../../ledger/types.ts';
import { recordAudit, type AuditActor } from '../audit/audit-log.ts';
import { required, type OperationsAdapters } from '../adapters.ts';

export const CASE_OUTCOMES = ['fraud_confirmed', 'false_positive', 'customer_error', 'inconclusive'] as const;
export type CaseOutcome = (typeof CASE_OUTCOMES)[number];
export const CASES_PAGE_MAX = 200;

/**
 * A case is about a customer (its subject is the customer id) or a merchant (`merchant:<id>`, what risk's
 * merchant_convergence rule opens: src/risk/rules/merchant-convergence.ts `merchantCaseSubject`). The merchant's
 * id, or null for a customer's case.
 */
export function caseMerchantId(subject: string): string | null {
  if (!subject.startsWith('merchant:')) return null;
  const id = subject.slice('merchant:'.length);
  return isUuid(id) ? id : null;
}

export interface CaseSummary {
  readonly id: string;
  readonly accountId: string;
  readonly status: 'open' | 'closed';
  readonly source: 'risk' | 'customer' | 'operator';
  readonly assigneeId: string | null;
  readonly alertCount: number;
  readonly outcome: CaseOutcome | null;
  readonly openedAt: Date;
  readonly updatedAt: Date;
  readonly closedAt: Date | null;
}

export interface CaseDetail extends CaseSummary {
  readonly alerts: ReadonlyArray<{ riskEventId: string; decision: string; reasons: unknown; createdAt: Date }>;
  readonly notes: ReadonlyArray<{ id: string; author: string; kind: string; body: string; createdAt: Date }>;
}

export interface ActionContext {
  readonly actor: AuditActor;
  readonly reason: string;
  readonly ip?: string | null;
  readonly requestId?: string | null;
}

/**
 * What a case keeps from a risk alert. Risk's own `RiskEvent` and `RiskDecision` fit these shapes; they are
 * stated here so operations does not import risk (risk imports operations for audit and the change feed).
 */
export interface AlertSubject { readonly accountId: string | null }
export interface AlertDecision { readonly id: string; readonly decision: string; readonly reasons: readonly unknown[] }

export interface Cases {
  openFromAlert(event: AlertSubject, decision: AlertDecision): Promise<void>;
  reportNotMe(customerId: string, eventRef: string): Promise<{ caseId: string; walletFrozen: boolean }>;
  /** Most recently active first, a page at a time (`before`: the previous page's `nextBefore`). */
  list(query: { status?: 'open' | 'closed'; limit?: number; before?: string }): Promise<{ cases: CaseSummary[]; nextBefore: string | null }>;
  get(caseId: string): Promise<CaseDetail>;
  assign(caseId: string, operatorId: string, context: ActionContext): Promise<CaseDetail>;
  comment(caseId: string, body: string, context: ActionContext): Promise<CaseDetail>;
  freeze(caseId: string, context: ActionContext): Promise<CaseDetail>;
  unfreeze(caseId: string, context: ActionContext): Promise<CaseDetail>;
  forceReset(caseId: string, context: ActionContext): Promise<CaseDetail>;
  revokeSessions(caseId: string, context: ActionContext): Promise<CaseDetail>;
  close(caseId: string, outcome: CaseOutcome, context: ActionContext): Promise<CaseDetail>;
  /**
   * A note and an audit event for an action another module took on the case's subject (a merchant suspended,
   * its payouts held, a reversal proposed): the module acts and audits first, the case records it after.
   * `requireOpen: false` records on a closed case too (a reversal approved after the case was closed).
   */
  recordAction(caseId: string, action: string, note: string, context: ActionContext, options?: { requireOpen?: boolean }): Promise<CaseDetail>;
}

interface CaseRow {
  id: string; account_id: string; status: 'open' | 'closed'; source: 'risk' | 'customer' | 'operator'; assignee_id: string | null;
  alert_count: number; outcome: CaseOutcome | null; opened_at: Date; updated_at: Date; closed_at: Date | null;
}

export function createCases(db: Database, ledger: Ledger, adapters: OperationsAdapters): Cases {
  const wallets = () => required(adapters.wallets, 'the customer wallet directory');
  const identity = () => required(adapters.identity, 'identity (sessions and credentials)');

  /** Runs one case action: the case must exist and be open (unless `requireOpen` is false); the note and audit commit with `work`. */
  const act = async (caseId: string, context: ActionContext, action: string, note: string, work?: (client: pg.PoolClient, row: CaseRow) => Promise<void>, requireOpen = true) => {
    requireReason(context.reason);
    await withTransaction(db, async (client) => {
      const row = await lockCase(client, caseId);
      if (requireOpen && row.status === 'closed') throw new KobanError('case_closed', { detail: `case ${caseId} is closed` });
      await work?.(client, row);
      await addNote(client, caseId, context.actor, 'action', `${note}: ${context.reason}`);
      await client.query('update cases set updated_at = now() where id = $1', [caseId]);
      await recordAudit(client, { actor: context.actor, action, target: { kind: 'case', id: caseId }, reason: context.reason, outcome: 'success',
        details: { accountId: row.account_id }, ip: context.ip ?? null, requestId: context.requestId ?? null });
    });
    return get(db, caseId);
  };
  /** The customer a customer action applies to; a merchant's case has merchant actions instead (src/portal/merchant-cases.ts). */
  const accountOf = async (caseId: string) => {
    const { accountId } = await get(db, caseId);
    if (accountId.startsWith('merchant:')) {
      throw new KobanError('case_subject_mismatch', { detail: 'this case is about a merchant: suspend it, hold its payouts or reverse its payments from the case\'s merchant actions' });
    }
    return accountId;
  };

  return {
    async openFromAlert(event, decision) {
      if (event.accountId === null) return;
      await withTransaction(db, async (client) => {
        const caseId = await openOrJoin(client, event.accountId ?? '', 'risk');
        await client.query('insert into case_alerts (case_id, risk_event_id, decision, reasons) values ($1, $2, $3, $4) on conflict do nothing',
          [caseId, decision.id, decision.decision, JSON.stringify(decision.reasons)]);
        await client.query('update cases set alert_count = alert_count + 1, updated_at = now() where id = $1', [caseId]);
      });
    },
    async reportNotMe(customerId, eventRef) {
      const walletId = await wallets().walletAccountIdOf(customerId);
      if (walletId === null) throw new KobanError('customer_wallet_not_found', { detail: `customer ${customerId} has no wallet` });
      // Containment first: the wallet is frozen before anything else can fail.
      await setBalancesStatus(customerId, walletId, 'frozen');
      const caseId = await withTransaction(db, async (client) => {
        const id = await openOrJoin(client, customerId, 'customer');
        const actor: AuditActor = { kind: 'customer', id: customerId };
        await addNote(client, id, actor, 'action', `customer reported "this wasn't me" for ${eventRef.slice(0, 200)}; wallet frozen`);
        await recordAudit(client, { actor, action: 'case.reported_not_me', target: { kind: 'case', id }, outcome: 'success', details: { eventRef: eventRef.slice(0, 200), walletAccountId: walletId } });
        return id;
      });
      return { caseId, walletFrozen: true };
    },
    list: (query) => list(db, query),
    get: (caseId) => get(db, caseId),
    assign: (caseId, operatorId, context) => act(caseId, context, 'case.assigned', `assigned to ${operatorId}`, async (client) => {
      const found = await client.query(`select 1 from operators where id = $1 and status = 'active'`, [isUuid(operatorId) ? operatorId : null]);
      if (found.rowCount !== 1) throw new KobanError('operator_not_found');
      await client.query('update cases set assignee_id = $2 where id = $1', [caseId, operatorId]);
    }),
    async comment(caseId, body, context) {
      if (body.trim().length === 0 || body.length > 4000) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/body', message: 'must be 1 to 4000 characters' }] });
      return act(caseId, { ...context, reason: context.reason || 'comment' }, 'case.commented', body.slice(0, 3000));
    },
    async freeze(caseId, context) {
      requireReason(context.reason);
      const customerId = await accountOf(caseId);
      const walletId = await walletOrFail(customerId);
      await setBalancesStatus(customerId, walletId, 'frozen');
      return act(caseId, context, 'case.account_frozen', `wallet ${walletId} frozen`);
    },
    async unfreeze(caseId, context) {
      requireReason(context.reason);
      const customerId = await accountOf(caseId);
      const walletId = await walletOrFail(customerId);
      await setBalancesStatus(customerId, walletId, 'active');
      return act(caseId, context, 'case.account_unfrozen', `wallet ${walletId} unfrozen`);
    },
    async forceReset(caseId, context) {
      requireReason(context.reason);
      const accountId = await accountOf(caseId);
      await identity().forcePasswordAndPinReset(accountId, context.reason);
      const revoked = await identity().revokeSessions(accountId);
      return act(caseId, context, 'case.credentials_reset', `password and PIN reset forced, ${revoked} session(s) revoked`);
    },
    async revokeSessions(caseId, context) {
      requireReason(context.reason);
      const revoked = await identity().revokeSessions(await accountOf(caseId));
      return act(caseId, context, 'case.sessions_revoked', `${revoked} session(s) revoked`);
    },
    recordAction: (caseId, action, note, context, options) => act(caseId, context, action, note, undefined, options?.requireOpen ?? true),
    close: (caseId, outcome, context) => act(caseId, context, 'case.closed', `closed as ${outcome}`, async (client) => {
      await client.query(`update cases set status = 'closed', outcome = $2, closed_at = now() where id = $1`, [caseId, outcome]);
    }),
  };

  /** The wallet (prepaid) and, once the customer is verified, the funds-transfer account freeze and thaw together (issue 19). */
  async function setBalancesStatus(customerId: string, walletId: string, status: 'frozen' | 'active'): Promise<void> {
    await ledger.setAccountStatus(walletId, status);
    const fundsTransferId = isUuid(customerId) ? ownedAccountId(AccountCodes.customerFundsTransfer, customerId) : null;
    if (fundsTransferId !== null && await ledger.getAccount(fundsTransferId) !== null) await ledger.setAccountStatus(fundsTransferId, status);
  }

  async function walletOrFail(customerId: string): Promise<string> {
    const walletId = await wallets().walletAccountIdOf(customerId);
    if (walletId === null) throw new KobanError('customer_wallet_not_found', { detail: `customer ${customerId} has no wallet` });
    return walletId;
  }
}

/** The account's open case, or a new one; concurrent alerts for one account meet on the unique index. */
async function openOrJoin(client: pg.PoolClient, accountId: string, source: CaseRow['source']): Promise<string> {
  const inserted = await client.query<{ id: string }>(
    `insert into cases (id, account_id, source) values ($1, $2, $3) on conflict (account_id) where status = 'open' do nothing returning id`,
    [uuidv7(), accountId, source]);
  if (inserted.rows[0] !== undefined) return inserted.rows[0].id;
  const existing = await client.query<{ id: string }>(`select id from cases where account_id = $1 and status = 'open'`, [accountId]);
  assert(existing.rows[0] !== undefined, 'an open case exists after a conflicting insert');
  return existing.rows[0].id;
}

async function lockCase(client: pg.PoolClient, caseId: string): Promise<CaseRow> {
  const result = await client.query<CaseRow>('select * from cases where id = $1 for update', [isUuid(caseId) ? caseId : null]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('case_not_found', { detail: `no case ${caseId}` });
  return row;
}

async function addNote(client: pg.PoolClient, caseId: string, actor: AuditActor, kind: 'comment' | 'action', body: string): Promise<void> {
  await client.query('insert into case_notes (id, case_id, author, kind, body) values ($1, $2, $3, $4, $5)', [uuidv7(), caseId, `${actor.kind}:${actor.id}`, kind, body.slice(0, 4000)]);
}

async function list(db: Database, query: { status?: 'open' | 'closed'; limit?: number; before?: string }): Promise<{ cases: CaseSummary[]; nextBefore: string | null }> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), CASES_PAGE_MAX);
  const before = decodeCursor(query.before);
  const result = await db.pool.query<CaseRow & { page_at: string }>(
    `select *, ${pageAtSql('updated_at')} as page_at from cases where ($1::text is null or status = $1) and ($3::timestamptz is null or (updated_at, id) < ($3, $4::uuid))
     order by updated_at desc, id desc limit $2`, [query.status ?? null, limit + 1, before?.at ?? null, before !== null && isUuid(before.id) ? before.id : null]);
  const page = pageOf(result.rows, limit, (row) => ({ at: row.page_at, id: row.id }));
  return { cases: page.items.map(toSummary), nextBefore: page.nextBefore };
}

async function get(db: Database, caseId: string): Promise<CaseDetail> {
  const found = await db.pool.query<CaseRow>('select * from cases where id = $1', [isUuid(caseId) ? caseId : null]);
  const row = found.rows[0];
  if (row === undefined) throw new KobanError('case_not_found', { detail: `no case ${caseId}` });
  const [alerts, notes] = await Promise.all([
    db.pool.query<{ risk_event_id: string; decision: string; reasons: unknown; created_at: Date }>('select risk_event_id, decision, reasons, created_at from case_alerts where case_id = $1 order by created_at limit 500', [caseId]),
    db.pool.query<{ id: string; author: string; kind: string; body: string; created_at: Date }>('select id, author, kind, body, created_at from case_notes where case_id = $1 order by created_at, id limit 500', [caseId]),
  ]);
  return {
    ...toSummary(row),
    alerts: alerts.rows.map((a) => ({ riskEventId: a.risk_event_id, decision: a.decision, reasons: a.reasons, createdAt: a.created_at })),
    notes: notes.rows.map((n) => ({ id: n.id, author: n.author, kind: n.kind, body: n.body, createdAt: n.created_at })),
  };
}

function toSummary(row: CaseRow): CaseSummary {
  return { id: row.id, accountId: row.account_id, status: row.status, source: row.source, assigneeId: row.assignee_id, alertCount: row.alert_count,
    outcome: row.outcome, openedAt: row.opened_at, updatedAt: row.updated_at, closedAt: row.closed_at };
}

function requireReason(reason: string): void {
  const length = reason.trim().length;
  if (length < 3 || length > 1000) throw new KobanError('validation_failed', { detail: 'a reason of 3 to 1000 characters is required', errors: [{ pointer: '/body/reason', message: 'must be 3 to 1000 characters' }] });
}

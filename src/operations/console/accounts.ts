/**
 * The account page's read models: a customer (contacts, wallet balance and status, devices, sessions,
 * funding instruments, risk decisions with reasons, the devices/cards/networks risk has linked to them,
 * cases) and a merchant (stores, terminals, recent payments). Each is a handful of lookups by
 * indexed customer, account or merchant id; personal data passes through the reader's masker.
 *
 * Opening a case from the account page is here too: the account actions (freeze, reset, revoke)
 * are case actions (cases.ts), so an operator who finds trouble without an alert opens one first.
 */
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { isUuid, uuidv7 } from '../../platform/ids.ts';
import { readStatement } from '../../ledger/statement.ts';
import { TransferCodes } from '../../ledger/types.ts';
import { recordAudit, type AuditActor } from '../audit/audit-log.ts';
import type { Masker } from './masking.ts';

const LIST_MAX = 50;
const TRANSFER_CODE_NAMES = new Map<number, string>(Object.entries(TransferCodes).map(([name, code]) => [code, name]));

export function transferCodeName(code: number): string {
  return TRANSFER_CODE_NAMES.get(code) ?? `code_${code}`;
}

export async function customerView(db: Database, customerId: string, masker: Masker) {
  if (!isUuid(customerId)) throw new KobanError('not_found', { detail: `no customer ${customerId}` });
  const found = await db.pool.query<{ id: string; status: string; created_at: Date; recovery_cooldown_until: Date | null; credentials_reset_required_at: Date | null; credentials_reset_reason: string | null }>(
    'select id, status, created_at, recovery_cooldown_until, credentials_reset_required_at, credentials_reset_reason from customers where id = $1', [customerId]);
  const customer = found.rows[0];
  if (customer === undefined) throw new KobanError('not_found', { detail: `no customer ${customerId}` });
  const [contacts, wallet, devices, sessions, funding, risk, links, cases] = await Promise.all([
    db.pool.query<{ kind: 'email' | 'phone'; value: string; verified_at: Date }>('select kind, value, verified_at from customer_contacts where customer_id = $1 order by kind', [customerId]),
    db.pool.query<{ account_id: string; status: string; balance: bigint; pending: bigint }>(
      `select a.id as account_id, a.status, a.credits_posted - a.debits_posted as balance, a.debits_pending as pending
       from customer_wallets w join accounts a on a.id = w.account_id where w.customer_id = $1`, [customerId]),
    db.pool.query<{ id: string; label: string; created_at: Date; last_seen_at: Date }>(
      `select id, label, created_at, last_seen_at from devices where customer_id = $1 order by last_seen_at desc limit ${LIST_MAX}`, [customerId]),
    db.pool.query<{ id: string; device_id: string | null; auth_methods: string[]; ip: string | null; user_agent: string | null; created_at: Date; last_seen_at: Date }>(
      `select id, device_id, auth_methods, ip, user_agent, created_at, last_seen_at from sessions where customer_id = $1 and revoked_at is null order by last_seen_at desc limit ${LIST_MAX}`, [customerId]),
    db.pool.query<{ id: string; kind: string; status: string; card_brand: string | null; card_last4: string | null; card_fingerprint: string | null; bank_account_last4: string | null; created_at: Date }>(
      `select id, kind, status, card_brand, card_last4, card_fingerprint, bank_account_last4, created_at from funding_sources where customer_id = $1 order by created_at desc limit ${LIST_MAX}`, [customerId]),
    db.pool.query<{ id: string; kind: string; decision: string; score: number; reasons: unknown; amount_minor: bigint | null; ip: string | null; device_id: string | null; created_at: Date }>(
      `select id, kind, decision, score, reasons, amount_minor, ip, device_id, created_at from risk_events where account_id = $1 order by created_at desc limit ${LIST_MAX}`, [customerId]),
    db.pool.query<{ kind: string; key: string; first_seen: Date; last_seen: Date; blocked: boolean }>(
      `select l.kind, l.key, l.first_seen, l.last_seen,
              exists (select 1 from risk_lists b where b.removed_at is null and b.list = 'blocked_' || l.kind and b.value = l.key) as blocked
       from risk_links l where l.account_id = $1 and l.kind in ('device', 'card', 'network') order by l.last_seen desc limit ${LIST_MAX}`, [customerId]),
    db.pool.query<{ id: string; status: string; source: string; alert_count: number; outcome: string | null; opened_at: Date; assignee_id: string | null }>(
      `select id, status, source, alert_count, outcome, opened_at, assignee_id from cases where account_id = $1 order by opened_at desc limit ${LIST_MAX}`, [customerId]),
  ]);
  const walletRow = wallet.rows[0];
  return {
    id: customer.id, status: customer.status, createdAt: customer.created_at.toISOString(), masked: masker.masked,
    recoveryCooldownUntil: customer.recovery_cooldown_until?.toISOString() ?? null,
    credentialsResetRequired: customer.credentials_reset_required_at !== null,
    contacts: contacts.rows.map((c) => ({ kind: c.kind, value: masker.contact(c.kind, c.value), verifiedAt: c.verified_at.toISOString() })),
    wallet: walletRow === undefined ? null : { accountId: walletRow.account_id, status: walletRow.status, balanceMinor: walletRow.balance.toString(), heldMinor: walletRow.pending.toString() },
    devices: devices.rows.map((d) => ({ id: d.id, label: d.label, createdAt: d.created_at.toISOString(), lastSeenAt: d.last_seen_at.toISOString() })),
    sessions: sessions.rows.map((s) => ({ id: s.id, deviceId: s.device_id, authMethods: s.auth_methods, ip: masker.ip(s.ip), userAgent: masker.userAgent(s.user_agent),
      createdAt: s.created_at.toISOString(), lastSeenAt: s.last_seen_at.toISOString() })),
    fundingSources: funding.rows.map((f) => ({ id: f.id, kind: f.kind, status: f.status, label: f.kind === 'card' ? `${f.card_brand ?? 'card'} •••• ${f.card_last4 ?? ''}` : `bank •••• ${f.bank_account_last4 ?? ''}`,
      createdAt: f.created_at.toISOString() })),
    riskEvents: risk.rows.map((r) => ({ id: r.id, kind: r.kind, decision: r.decision, score: r.score, reasons: r.reasons, amountMinor: r.amount_minor?.toString() ?? null,
      ip: masker.ip(r.ip), deviceId: r.device_id, createdAt: r.created_at.toISOString() })),
    // Keys as risk stores them (device id, card reference, network); they are what the block lists take.
    riskLinks: links.rows.map((l) => ({ kind: l.kind, key: l.kind === 'network' && masker.masked ? maskNetwork(l.key) : l.key, blockable: !(l.kind === 'network' && masker.masked),
      blocked: l.blocked, firstSeen: l.first_seen.toISOString(), lastSeen: l.last_seen.toISOString() })),
    cases: cases.rows.map((c) => ({ id: c.id, status: c.status, source: c.source, alertCount: c.alert_count, outcome: c.outcome, openedAt: c.opened_at.toISOString(), assigneeId: c.assignee_id })),
  };
}

function maskNetwork(network: string): string {
  return network.replace(/\.0\/24$/, '.•/24').replace(/^([0-9a-f]+:[0-9a-f]+):.*$/i, '$1:•');
}

/** The wallet's ledger history, newest first, one page at a time (the ledger's own cursor). */
export async function customerStatement(db: Database, customerId: string, cursor: string | null, limit: number) {
  const wallet = await db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [isUuid(customerId) ? customerId : null]);
  const accountId = wallet.rows[0]?.account_id;
  if (accountId === undefined) return { entries: [], nextCursor: null };
  const statement = await readStatement(db, { accountId, cursor, limit });
  return {
    nextCursor: statement.nextCursor,
    entries: statement.entries.map((entry) => ({
      transferId: entry.transfer.id, direction: entry.side === 'credit' ? 'in' : 'out', amountMinor: entry.transfer.amount.toString(),
      code: transferCodeName(entry.transfer.code), reference: entry.transfer.reference, createdAt: entry.transfer.createdAt.toISOString(), holdStatus: entry.holdStatus,
      counterpartyAccountId: entry.side === 'credit' ? entry.transfer.debitAccountId : entry.transfer.creditAccountId,
    })),
  };
}

export async function merchantView(db: Database, merchantId: string) {
  if (!isUuid(merchantId)) throw new KobanError('merchant_not_found');
  const found = await db.pool.query<{ id: string; name: string; category_code: string; status: string; receivable_account_id: string; created_at: Date; balance: bigint }>(
    `select m.id, m.name, m.category_code, m.status, m.receivable_account_id, m.created_at, a.credits_posted - a.debits_posted as balance
     from merchants m join accounts a on a.id = m.receivable_account_id where m.id = $1`, [merchantId]);
  const merchant = found.rows[0];
  if (merchant === undefined) throw new KobanError('merchant_not_found');
  const [stores, terminals, statement] = await Promise.all([
    db.pool.query<{ id: string; name: string; address: string; status: string }>('select id, name, address, status from stores where merchant_id = $1 order by name limit 200', [merchantId]),
    // codeLockedAt: the till code throttle's lock (payments' terminal/code-throttle.ts), lifted from this page.
    db.pool.query<{ id: string; store_id: string; name: string; status: string; code_locked_at: Date | null }>(
      `select t.id, t.store_id, t.name, t.status, f.locked_at as code_locked_at from terminals t join stores s on s.id = t.store_id
       left join terminal_code_failures f on f.terminal_id = t.id where s.merchant_id = $1 order by t.name limit 500`, [merchantId]),
    // Recent payments come from the receivable account's ledger history (an index range scan however
    // busy the merchant is), then their payment rows by the unique transfer id.
    readStatement(db, { accountId: merchant.receivable_account_id, limit: LIST_MAX }),
  ]);
  const transferIds = statement.entries.map((e) => e.transfer.id);
  const payments = await db.pool.query<{ id: string; merchant_payment_id: string; status: string; amount_minor: bigint; store_id: string | null; terminal_id: string | null; customer_id: string | null; created_at: Date }>(
    `select id, merchant_payment_id, status, amount_minor, store_id, terminal_id, customer_id, created_at from payments
     where payment_transfer_id = any($1::uuid[]) order by created_at desc`, [transferIds]);
  return {
    id: merchant.id, name: merchant.name, categoryCode: merchant.category_code, status: merchant.status, createdAt: merchant.created_at.toISOString(),
    receivableAccountId: merchant.receivable_account_id, receivableMinor: merchant.balance.toString(),
    stores: stores.rows.map((s) => ({ id: s.id, name: s.name, address: s.address, status: s.status,
      terminals: terminals.rows.filter((t) => t.store_id === s.id).map((t) => ({ id: t.id, name: t.name, status: t.status, codeLockedAt: t.code_locked_at?.toISOString() ?? null })) })),
    recentPayments: payments.rows.map((p) => ({ id: p.id, merchantPaymentId: p.merchant_payment_id, status: p.status, amountMinor: p.amount_minor.toString(),
      storeId: p.store_id, terminalId: p.terminal_id, customerId: p.customer_id, createdAt: p.created_at.toISOString() })),
  };
}

/**
 * Every payment to a merchant, newest first, a page at a time (issue 13: paging on every operator list; the
 * merchant page showed only its recent ones). Read like the merchant page's: the receivable account's payment
 * and hold transfers from the ledger's history (an index range scan however busy the merchant is, with the
 * ledger's own cursor), then their payment rows by the unique transfer id.
 */
export async function merchantPayments(db: Database, merchantId: string, before: string | null, limit: number) {
  if (!isUuid(merchantId)) throw new KobanError('merchant_not_found');
  const found = await db.pool.query<{ receivable_account_id: string }>('select receivable_account_id from merchants where id = $1', [merchantId]);
  const accountId = found.rows[0]?.receivable_account_id;
  if (accountId === undefined) throw new KobanError('merchant_not_found');
  const statement = await readStatement(db, { accountId, cursor: before, limit, codes: [TransferCodes.payment, TransferCodes.hold] });
  const payments = await db.pool.query<{ id: string; payment_transfer_id: string; merchant_payment_id: string; status: string; amount_minor: bigint; store_id: string | null; terminal_id: string | null; customer_id: string | null; created_at: Date }>(
    `select id, payment_transfer_id, merchant_payment_id, status, amount_minor, store_id, terminal_id, customer_id, created_at from payments
     where payment_transfer_id = any($1::uuid[]) and merchant_id = $2`, [statement.entries.map((e) => e.transfer.id), merchantId]);
  // In the ledger's order, which the cursor follows (a payment's row may be stamped before an earlier one commits).
  const position = new Map(statement.entries.map((entry, index) => [entry.transfer.id, index]));
  const ordered = [...payments.rows].sort((a, b) => (position.get(a.payment_transfer_id) ?? 0) - (position.get(b.payment_transfer_id) ?? 0));
  return {
    payments: ordered.map((p) => ({ id: p.id, merchantPaymentId: p.merchant_payment_id, status: p.status, amountMinor: p.amount_minor.toString(),
      storeId: p.store_id, terminalId: p.terminal_id, customerId: p.customer_id, createdAt: p.created_at.toISOString() })),
    nextBefore: statement.nextCursor,
  };
}

/**
 * Opens a case on a customer from the console (source `operator`), or answers the open one: one open
 * case per account, the same unique index the risk engine's alerts meet on.
 */
export async function openOperatorCase(db: Database, customerId: string, reason: string, actor: AuditActor, context: { ip: string | null; requestId: string | null }): Promise<{ caseId: string; created: boolean }> {
  const exists = await db.pool.query('select 1 from customers where id = $1', [isUuid(customerId) ? customerId : null]);
  if (exists.rowCount !== 1) throw new KobanError('not_found', { detail: `no customer ${customerId}` });
  return withTransaction(db, async (client) => {
    const inserted = await client.query<{ id: string }>(
      `insert into cases (id, account_id, source) values ($1, $2, 'operator') on conflict (account_id) where status = 'open' do nothing returning id`, [uuidv7(), customerId]);
    const created = inserted.rows[0] !== undefined;
    const caseId = inserted.rows[0]?.id ?? (await client.query<{ id: string }>(`select id from cases where account_id = $1 and status = 'open'`, [customerId])).rows[0]?.id;
    if (caseId === undefined) throw new KobanError('case_not_found', { detail: 'the open case closed meanwhile; try again' });
    if (created) {
      await client.query(`insert into case_notes (id, case_id, author, kind, body) values ($1, $2, $3, 'action', $4)`, [uuidv7(), caseId, `${actor.kind}:${actor.id}`, `case opened: ${reason}`.slice(0, 4000)]);
      await recordAudit(client, { actor, action: 'case.opened', target: { kind: 'case', id: caseId }, reason, outcome: 'success', details: { accountId: customerId }, ip: context.ip, requestId: context.requestId });
    }
    return { caseId, created };
  });
}

/**
 * The merchant portal's actions: each one calls the owning module (merchants for stores, tills, staff,
 * keys and webhook endpoints; payments for refunds, cancels, activation codes, statements) and writes the
 * audit entry for what a merchant user did. Nothing here writes another module's table itself.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { createApiKey, listApiKeys, revokeApiKey, type NewApiKey } from '../merchants/api-keys.ts';
import { applyForMerchant, readMerchantProfile, type MerchantApplication, type MerchantsDeps } from '../merchants/onboarding.ts';
import type { SecretBox } from '../merchants/secret-box.ts';
import type { StaffWebAuthnSettings } from '../merchants/staff-passkeys.ts';
import { staffActor, type StaffPrincipal, type StaffRequestContext } from '../merchants/staff.ts';
import { getStore, getTerminal } from '../merchants/stores.ts';
import {
  createOrFindWebhookEndpoint, listWebhookEndpoints, ROTATION_OVERLAP_DEFAULT_SEC, rotateWebhookSecret, updateWebhookEndpoint, type WebhookFormat,
} from '../merchants/webhook-endpoints.ts';
import type { AuditActor, AuditLog } from '../operations/audit/audit-log.ts';
import type { Cases } from '../operations/cases/cases.ts';
import type { Proposals } from '../operations/proposals/proposals.ts';
import { withTransaction, type Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { MerchantEventSink } from '../payments/deps.ts';
import { buildStaticQrPayload } from '../payments/emvco.ts';
import type { Payments } from '../payments/service.ts';
import { reconciliationCsv } from '../payments/settlement/reconciliation.ts';
import type { TerminalAccess } from '../payments/terminal/access.ts';
import { isBusinessDate } from '../payments/time.ts';
import { deliveryLogPage } from '../payments/webhooks/delivery-log.ts';
import { redeliver } from '../payments/webhooks/dispatcher.ts';
import { readSale } from './reads.ts';
import type { CustomerContext } from '../payments/context.ts';
import { createTestWallet, listTestWallets, readTestWallet, topUpTestWallet } from '../wallet/test-wallets.ts';

export interface PortalDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly box: SecretBox;
  readonly now: () => Date;
  readonly payments: Payments;
  readonly terminals: () => TerminalAccess;
  readonly events: MerchantEventSink;
  readonly audit: AuditLog;
  /** Operators' four-eyes proposals: a merchant reversal is one (reversals.ts). */
  readonly proposals: Proposals;
  /** Operators' cases: a merchant's case records the containment taken from it (merchant-cases.ts). */
  readonly cases: Cases;
  readonly fourEyesAboveMinor: bigint;
  readonly allowHttpWebhooks: boolean;
  /** The relying party merchant staff passkeys answer (the identity module's WebAuthn settings: one origin for every app). */
  readonly webauthn: StaffWebAuthnSettings;
}

export const merchantsDepsOf = (deps: PortalDeps): MerchantsDeps => ({ db: deps.db, ledger: deps.ledger, box: deps.box, now: deps.now, fourEyesAboveMinor: deps.fourEyesAboveMinor });

async function audited(deps: PortalDeps, actor: AuditActor, action: string, target: { kind: string; id: string }, context: StaffRequestContext, details: Record<string, unknown> = {}, reason: string | null = null): Promise<void> {
  await deps.audit.record({ actor, action, target, reason, outcome: 'success', details, ip: context.ip, requestId: context.requestId });
}

export function apply(deps: PortalDeps, application: MerchantApplication, context: StaffRequestContext) {
  return applyForMerchant(merchantsDepsOf(deps), application, context);
}

export const profileOf = (deps: PortalDeps, principal: StaffPrincipal) => readMerchantProfile(deps.db, principal.merchantId);

/** The store's static QR payload (EMVCo), from the merchant's names and the store's city and postal code. */
export async function storeQrPayload(deps: PortalDeps, principal: StaffPrincipal, storeId: string): Promise<{ payload: string; storeName: string; merchantName: string }> {
  const store = await getStore(deps.db, principal.merchantId, storeId);
  const merchant = await readMerchantProfile(deps.db, principal.merchantId);
  if (store.city === '' || store.postalCode === '') throw new KobanError('validation_failed', { detail: 'set the store\'s city and postal code first (the QR carries them)' });
  const payload = buildStaticQrPayload({ merchantId: merchant.id, storeId: store.id, categoryCode: merchant.categoryCode, merchantName: merchant.name, merchantNameLatin: merchant.nameLatin,
    merchantCity: store.city, merchantCityLocal: store.cityLocal, postalCode: store.postalCode });
  return { payload, storeName: store.name, merchantName: merchant.name };
}

export async function issueTillCode(deps: PortalDeps, principal: StaffPrincipal, terminalId: string, context: StaffRequestContext) {
  const terminal = await getTerminal(deps.db, principal.merchantId, terminalId);
  if (terminal.status !== 'active') throw new KobanError('terminal_not_found', { detail: 'the terminal is revoked' });
  const issued = await deps.terminals().issueActivationCode(terminal.id, `merchant_user:${principal.userId}`);
  await audited(deps, staffActor(principal), 'terminal.activation_code_issued', { kind: 'terminal', id: terminal.id }, context, { merchantId: principal.merchantId, expiresAt: issued.expiresAt.toISOString() });
  return issued;
}

/** A refund from the portal: through the payments module's own refund (the same checks as the API), then audited with its reason. */
export async function refundSale(deps: PortalDeps, principal: StaffPrincipal, paymentId: string, amountMinor: bigint, reason: string, context: StaffRequestContext) {
  const sale = await readSale(deps.db, principal.merchantId, paymentId);
  const refund = await deps.payments.refundPayment({ merchantId: principal.merchantId, merchantRefundId: `portal-${uuidv7()}`, paymentId: sale.payment.id, amountMinor, reason, requestedAt: null });
  await audited(deps, staffActor(principal), 'payment.refunded_by_merchant', { kind: 'payment', id: sale.payment.id }, context, { merchantId: principal.merchantId, refundId: refund.id, amountMinor }, reason);
  return refund;
}

export async function cancelSale(deps: PortalDeps, principal: StaffPrincipal, paymentId: string, reason: string, context: StaffRequestContext) {
  const sale = await readSale(deps.db, principal.merchantId, paymentId);
  const payment = await deps.payments.cancelPayment(principal.merchantId, sale.payment.merchantPaymentId);
  await audited(deps, staffActor(principal), 'payment.canceled_by_merchant', { kind: 'payment', id: sale.payment.id }, context, { merchantId: principal.merchantId }, reason);
  return payment;
}

export async function statementCsv(deps: PortalDeps, principal: StaffPrincipal, date: string): Promise<string> {
  if (!isBusinessDate(date)) throw new KobanError('validation_failed', { errors: [{ pointer: '/params/date', message: 'must be YYYY-MM-DD' }] });
  return reconciliationCsv(deps.db, principal.merchantId, date);
}

export const apiKeys = (deps: PortalDeps, principal: StaffPrincipal) => listApiKeys(deps.db, principal.merchantId);

export async function newApiKey(deps: PortalDeps, principal: StaffPrincipal, context: StaffRequestContext, key: NewApiKey = {}) {
  const issued = await createApiKey(deps.db, deps.box, deps.ledger, principal.merchantId, key);
  await audited(deps, staffActor(principal), 'api_key.created', { kind: 'api_key', id: issued.credentialId }, context,
    { merchantId: principal.merchantId, apiKey: issued.apiKey, mode: issued.mode, name: issued.name });
  return issued;
}

export async function dropApiKey(deps: PortalDeps, principal: StaffPrincipal, credentialId: string, context: StaffRequestContext): Promise<void> {
  await revokeApiKey(deps.db, principal.merchantId, credentialId);
  await audited(deps, staffActor(principal), 'api_key.revoked', { kind: 'api_key', id: credentialId }, context, { merchantId: principal.merchantId });
}

export const webhookEndpoints = (deps: PortalDeps, principal: StaffPrincipal) => listWebhookEndpoints(deps.db, principal.merchantId);

export async function addWebhookEndpoint(deps: PortalDeps, principal: StaffPrincipal, url: string, context: StaffRequestContext) {
  const result = await createOrFindWebhookEndpoint(deps.db, deps.box, { merchantId: principal.merchantId, url, allowHttp: deps.allowHttpWebhooks });
  await audited(deps, staffActor(principal), 'webhook_endpoint.created', { kind: 'webhook_endpoint', id: result.endpointId }, context, { merchantId: principal.merchantId, url: result.url, created: result.created });
  return result;
}

export async function changeWebhookEndpoint(deps: PortalDeps, principal: StaffPrincipal, endpointId: string, change: { url?: string; disabled?: boolean; format?: WebhookFormat }, context: StaffRequestContext) {
  const updated = await updateWebhookEndpoint(deps.db, { merchantId: principal.merchantId, endpointId, allowHttp: deps.allowHttpWebhooks, now: deps.now(),
    ...(change.url === undefined ? {} : { url: change.url }), ...(change.disabled === undefined ? {} : { status: change.disabled ? 'disabled' : 'active' }),
    ...(change.format === undefined ? {} : { format: change.format }) });
  await audited(deps, staffActor(principal), 'webhook_endpoint.updated', { kind: 'webhook_endpoint', id: endpointId }, context, { merchantId: principal.merchantId, ...change });
  return updated;
}

export async function rotateWebhookEndpointSecret(deps: PortalDeps, principal: StaffPrincipal, endpointId: string, context: StaffRequestContext) {
  const rotated = await rotateWebhookSecret(deps.db, deps.box, { merchantId: principal.merchantId, endpointId, overlapSec: ROTATION_OVERLAP_DEFAULT_SEC, now: deps.now() });
  await audited(deps, staffActor(principal), 'webhook_endpoint.secret_rotated', { kind: 'webhook_endpoint', id: endpointId }, context, { merchantId: principal.merchantId });
  return rotated;
}

/** A `test.ping` event, through the same transactional outbox as real events: one delivery per active endpoint. */
export async function sendTestEvent(deps: PortalDeps, principal: StaffPrincipal, context: StaffRequestContext): Promise<void> {
  await withTransaction(deps.db, (client) => deps.events.record(client, { type: 'test.ping', paymentId: null, merchantId: principal.merchantId, data: { sentBy: principal.email } }));
  await audited(deps, staffActor(principal), 'webhook.test_sent', { kind: 'merchant', id: principal.merchantId }, context);
}

export const deliveries = (deps: PortalDeps, principal: StaffPrincipal, limit: number, startingAfter: string | null) =>
  deliveryLogPage(deps.db, principal.merchantId, { limit, startingAfter });

export async function redeliverWebhook(deps: PortalDeps, principal: StaffPrincipal, deliveryId: string, context: StaffRequestContext): Promise<void> {
  await redeliver(deps.db, principal.merchantId, deliveryId, deps.now());
  await audited(deps, staffActor(principal), 'webhook.redelivered', { kind: 'webhook_delivery', id: deliveryId }, context, { merchantId: principal.merchantId });
}

// ---------------------------------------------------------------------------------------------------------
// Test wallets (src/wallet/test-wallets.ts): the developers' sandbox customers, paying the merchant's test mode.

export const testWallets = (deps: PortalDeps, principal: StaffPrincipal) => listTestWallets(deps.db, deps.ledger, principal.merchantId);

export async function newTestWallet(deps: PortalDeps, principal: StaffPrincipal, context: StaffRequestContext, wallet: { label: string; initialMinor: bigint | null }) {
  const made = await createTestWallet(deps.db, deps.ledger, principal.merchantId, { label: wallet.label, createdBy: principal.userId, ...(wallet.initialMinor === null ? {} : { initialMinor: wallet.initialMinor }) });
  await audited(deps, staffActor(principal), 'test_wallet.created', { kind: 'test_wallet', id: made.customerId }, context,
    { merchantId: principal.merchantId, label: made.label, initialMinor: made.balanceMinor.toString() });
  return made;
}

export async function topUpTest(deps: PortalDeps, principal: StaffPrincipal, customerId: string, amountMinor: bigint, key: string | null, context: StaffRequestContext) {
  const wallet = await topUpTestWallet(deps.db, deps.ledger, principal.merchantId, customerId, amountMinor, key);
  await audited(deps, staffActor(principal), 'test_wallet.topped_up', { kind: 'test_wallet', id: customerId }, context, { merchantId: principal.merchantId, amountMinor: amountMinor.toString() });
  return wallet;
}

/** The test wallet as the paying customer: the same payment pipeline as the wallet app, on the test ledger. */
async function testCustomer(deps: PortalDeps, principal: StaffPrincipal, customerId: string): Promise<CustomerContext> {
  const wallet = await readTestWallet(deps.db, deps.ledger, principal.merchantId, customerId);
  return { customerId: wallet.customerId, walletAccountId: wallet.walletAccountId, deviceId: `test-wallet:${wallet.customerId}` };
}

export async function payOrderWithTestWallet(deps: PortalDeps, principal: StaffPrincipal, customerId: string, codeId: string) {
  return deps.payments.payDynamicQr(await testCustomer(deps, principal, customerId), codeId);
}

export async function payStoreWithTestWallet(deps: PortalDeps, principal: StaffPrincipal, customerId: string, payload: string, amountMinor: bigint, idempotencyKey: string | null) {
  return deps.payments.payStaticQr(await testCustomer(deps, principal, customerId), payload, amountMinor, idempotencyKey);
}

/** A customer payment code of the test wallet, for a test till (`POST /v2/till/payments` with a test key). */
export async function testPaymentCode(deps: PortalDeps, principal: StaffPrincipal, customerId: string) {
  return deps.payments.mintPaymentCode(await testCustomer(deps, principal, customerId));
}

/**
 * A real Koban process for test/payments/crash-notices.test.ts: it pays at the till and refunds part of it
 * through the payments pipeline, then dies by SIGKILL the moment the refund's answer is in — after the
 * commit that wrote the notices, before the relay could commit their delivery (a commit needs a round
 * trip, and nothing yields to the event loop between the answer and the kill).
 */
import { createKoban } from '../../../src/koban.ts';
import { openPostgres } from '../../../src/platform/db/postgres.ts';
import { testConfig } from '../../support/koban.ts';

interface Plan {
  readonly dbUrl: string;
  readonly merchantId: string;
  readonly storeId: string;
  readonly terminalId: string;
  readonly code: string;
  readonly merchantPaymentId: string;
  readonly merchantRefundId: string;
}

const plan = JSON.parse(process.env.KOBAN_CRASH_PLAN ?? '') as Plan;
const db = await openPostgres(plan.dbUrl, 4);
const koban = await createKoban(testConfig({ KOBAN_OPA_PORT: '0' }), db);
const payments = koban.payments.payments;
const { payment } = await payments.payAtTill({
  merchantId: plan.merchantId, merchantPaymentId: plan.merchantPaymentId, code: plan.code, amountMinor: 1_000n,
  storeId: plan.storeId, terminalId: plan.terminalId, orderDescription: null, requestedAt: null,
});
await payments.refundPayment({ merchantId: plan.merchantId, merchantRefundId: plan.merchantRefundId, paymentId: payment.id, amountMinor: 300n, reason: null, requestedAt: null });
process.kill(process.pid, 'SIGKILL');

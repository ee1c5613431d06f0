/**
 * Step 9: the official PayPay Node SDK, unmodified, in its own process, against Koban's OPA listener over
 * HTTPS with the local dev CA (trusted through NODE_EXTRA_CA_CERTS, see src/merchants/opa/SDK-NOTES.md):
 * create a QR, a customer pays it through Koban's wallet route, the SDK sees COMPLETED, refunds part of it,
 * reads the refund, and cancels another payment.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devTlsPaths } from '../../src/platform/tls/dev-ca.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { startHarness, type Harness } from './support.ts';

const execFileAsync = promisify(execFile);
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD_TIMEOUT_MS = 20_000;

// Plain CommonJS, exactly what a merchant's integration would contain.
const SDK_SCRIPT = `
const { PayPayRestSDK, Conf } = require('@paypayopa/paypayopa-sdk-node');
const sdk = new PayPayRestSDK();
sdk.configure({
  clientId: process.env.SDK_KEY, clientSecret: process.env.SDK_SECRET, merchantId: process.env.SDK_MERCHANT,
  conf: new Conf({ hostName: '127.0.0.1', portNumber: Number(process.env.SDK_PORT) }),
});
const amount = (n) => ({ amount: n, currency: 'JPY' });
const steps = {
  async create() {
    return [
      await sdk.qrCodeCreate({ merchantPaymentId: 'sdk-order-1', amount: amount(1200), codeType: 'ORDER_QR', orderDescription: 'お弁当 🍱' }),
      await sdk.qrCodeCreate({ merchantPaymentId: 'sdk-order-2', amount: amount(800), codeType: 'ORDER_QR' }),
      await sdk.getCodePaymentDetails(['sdk-order-1']),
    ];
  },
  async afterPay() {
    const details = await sdk.getCodePaymentDetails(['sdk-order-1']);
    const paymentId = details.BODY.data.paymentId;
    return [
      details,
      await sdk.paymentRefund({ merchantRefundId: 'sdk-refund-1', paymentId, amount: amount(500), reason: 'one item returned' }),
      await sdk.getRefundDetails(['sdk-refund-1']),
      await sdk.paymentCancel(['sdk-order-2']),
      await sdk.getPaymentDetails(['sdk-order-2']),
      await sdk.getPaymentDetails(['sdk-order-1']),
    ];
  },
  async preauthCreate() {
    return [
      await sdk.qrCodeCreate({ merchantPaymentId: 'sdk-auth-1', amount: amount(3000), codeType: 'ORDER_QR', isAuthorization: true, authorizationExpiry: Math.floor(Date.now() / 1000) + 3600 }),
      await sdk.qrCodeCreate({ merchantPaymentId: 'sdk-auth-2', amount: amount(1000), codeType: 'ORDER_QR', isAuthorization: true }),
      await sdk.paymentPreauthorize({ merchantPaymentId: 'sdk-direct-1', userAuthorizationId: 'none', amount: amount(100), requestedAt: Math.floor(Date.now() / 1000) }),
    ];
  },
  async preauthSettle() {
    const authorized = await sdk.getPaymentDetails(['sdk-auth-1']);
    const other = await sdk.getPaymentDetails(['sdk-auth-2']);
    return [
      authorized,
      await sdk.paymentAuthCapture({ merchantPaymentId: 'sdk-auth-1', amount: amount(2400), merchantCaptureId: 'sdk-capture-1', requestedAt: Math.floor(Date.now() / 1000), orderDescription: 'fuel' }),
      await sdk.paymentAuthRevert({ merchantRevertId: 'sdk-revert-1', paymentId: other.BODY.data.paymentId, requestedAt: Math.floor(Date.now() / 1000), reason: 'not needed' }),
      await sdk.getPaymentDetails(['sdk-auth-1']),
      await sdk.getPaymentDetails(['sdk-auth-2']),
    ];
  },
};
steps[process.env.SDK_STEP]().then((results) => process.stdout.write('\\nRESULTS ' + JSON.stringify(results) + '\\n'));
`;

type SdkResult = { STATUS: number; BODY?: { resultInfo: { code: string }; data: Record<string, unknown> & { status?: string } }; ERROR?: string };

let h: Harness;
let dir = '';
let port = 0;

async function runSdk(step: string): Promise<SdkResult[]> {
  const env: NodeJS.ProcessEnv = {
    ...process.env, NODE_EXTRA_CA_CERTS: devTlsPaths(dir).caCertPath, SDK_STEP: step, SDK_PORT: String(port),
    SDK_KEY: h.credential.apiKey, SDK_SECRET: h.credential.apiSecret, SDK_MERCHANT: h.merchant.merchantId,
  };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED; // the test proves trust; it never switches checking off
  const { stdout } = await execFileAsync(process.execPath, ['-e', SDK_SCRIPT], { cwd: PROJECT_ROOT, env, timeout: CHILD_TIMEOUT_MS });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULTS '));
  if (line === undefined) throw new Error(`the SDK child printed no results:\n${stdout}`);
  return JSON.parse(line.slice('RESULTS '.length)) as SdkResult[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'koban-sdk-'));
  h = await startHarness({ opaTls: true, customerRoutes: true, env: { KOBAN_TLS_DIR: dir } });
  const url = await h.module.listenOpa();
  expect(url.startsWith('https://127.0.0.1:')).toBe(true);
  port = Number(new URL(url).port);
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the official PayPay SDK against Koban', () => {
  it('creates QR codes, sees one paid by a customer, refunds part of it, reads the refund and cancels the other', async () => {
    const [created1, created2, beforePay] = await runSdk('create');
    expect([created1?.STATUS, created1?.BODY?.resultInfo.code]).toEqual([201, 'SUCCESS']);
    expect(created1?.BODY?.data).toMatchObject({ merchantPaymentId: 'sdk-order-1', amount: { amount: 1200, currency: 'JPY' }, orderDescription: 'お弁当 🍱' });
    expect(beforePay?.BODY?.data.status).toBe('CREATED');

    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const app = h.app;
    if (app === null) throw new Error('customer routes not mounted');
    for (const created of [created1, created2]) {
      const paid = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${String(created?.BODY?.data.codeId)}/pay`, headers: testCustomerHeader(customer) });
      expect(paid.json()).toMatchObject({ status: 'COMPLETED' });
    }
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_000n);

    const [details, refund, refundDetails, cancel, canceled, refundedPayment] = await runSdk('afterPay');
    expect(details?.BODY?.data).toMatchObject({ status: 'COMPLETED', merchantPaymentId: 'sdk-order-1', amount: { amount: 1200 } });
    expect([refund?.STATUS, refund?.BODY?.resultInfo.code, refund?.BODY?.data.status]).toEqual([200, 'SUCCESS', 'REFUNDED']);
    expect(refundDetails?.BODY?.data).toMatchObject({ merchantRefundId: 'sdk-refund-1', status: 'REFUNDED', amount: { amount: 500, currency: 'JPY' } });
    expect([cancel?.STATUS, cancel?.BODY?.resultInfo.code]).toEqual([202, 'REQUEST_ACCEPTED']);
    expect(canceled?.BODY?.data.status).toBe('FAILED');
    expect(refundedPayment?.BODY?.data).toMatchObject({ status: 'COMPLETED', refunds: { data: [{ merchantRefundId: 'sdk-refund-1', status: 'REFUNDED' }] } });
    // 5000 − 1200 − 800, + 500 refunded, + 800 cancelled.
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(4_300n);
  });

  it("runs PayPay's pre-authorisation calls unmodified: QR with isAuthorization, capture in part, revert", async () => {
    const [created1, created2, direct] = await runSdk('preauthCreate');
    expect([created1?.STATUS, created1?.BODY?.resultInfo.code, created1?.BODY?.data.isAuthorization]).toEqual([201, 'SUCCESS', true]);
    expect([direct?.STATUS, direct?.BODY?.resultInfo.code]).toEqual([400, 'PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT']);
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const app = h.app;
    if (app === null) throw new Error('customer routes not mounted');
    for (const created of [created1, created2]) {
      const paid = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${String(created?.BODY?.data.codeId)}/pay`, headers: testCustomerHeader(customer) });
      expect(paid.json()).toMatchObject({ status: 'AUTHORIZED' });
    }
    const [authorized, captured, reverted, afterCapture, afterRevert] = await runSdk('preauthSettle');
    expect(authorized?.BODY?.data).toMatchObject({ status: 'AUTHORIZED', expiresAt: expect.any(Number) });
    expect([captured?.STATUS, captured?.BODY?.resultInfo.code, captured?.BODY?.data.status]).toEqual([200, 'SUCCESS', 'COMPLETED']);
    expect([reverted?.STATUS, reverted?.BODY?.resultInfo.code, reverted?.BODY?.data.status]).toEqual([200, 'SUCCESS', 'CANCELED']);
    expect(afterCapture?.BODY?.data).toMatchObject({ status: 'COMPLETED', amount: { amount: 2400 } });
    expect(afterRevert?.BODY?.data.status).toBe('CANCELED');
    // 5000 − 2400 captured; the 600 left of that hold and the whole 1000 reverted are back.
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(2_600n);
  });

  it('answers a tampered SDK secret with the UNAUTHORIZED envelope and changes nothing', async () => {
    const real = h.credential.apiSecret;
    (h.credential as { apiSecret: string }).apiSecret = 'not-the-secret-not-the-secret-not-the-secret';
    try {
      const results = await runSdk('create');
      expect(results.map((r) => [r.STATUS, r.BODY?.resultInfo.code])).toEqual(Array(3).fill([401, 'UNAUTHORIZED']));
    } finally {
      (h.credential as { apiSecret: string }).apiSecret = real;
    }
  });
});

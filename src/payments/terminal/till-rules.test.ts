import { describe, expect, it } from 'vitest';
import type { Payment } from '../model.ts';
import { businessDate } from '../time.ts';
import { cancelableAtTill } from './till-rules.ts';

const CUTOFF_MINUTES = 15;
// 10:00 JST on 2026-12-03.
const acceptedAt = new Date('2026-12-03T01:00:00Z');

function paid(overrides: Partial<Payment> = {}): Payment {
  return {
    id: 'p1', merchantId: 'm1', merchantPaymentId: 'mp1', kind: 'customer_code', status: 'COMPLETED', amountMinor: 1_000n, feeMinor: 30n,
    storeId: null, terminalId: null, orderDescription: null, requestFingerprint: 'f', customerId: null, walletAccountId: null, deviceId: null,
    paymentTransferId: null, feeTransferId: null, failureCode: null, refundedMinor: 0n, refundedFeeMinor: 0n, requestedAt: null,
    createdAt: acceptedAt, acceptedAt, businessDate: businessDate(acceptedAt), canceledAt: null, cancelAmountMinor: null, cancelFeeMinor: null,
    cancelTransferId: null, cancelFeeTransferId: null, isAuthorization: false, authorizationExpiresAt: null, authorizedAt: null,
    authorizedAmountMinor: null, ...overrides,
  };
}

describe('cancelableAtTill', () => {
  it('offers a cancel for a paid payment of the same business day', () => {
    expect(cancelableAtTill(paid(), new Date('2026-12-03T14:59:00Z'), CUTOFF_MINUTES)).toBe(true);
  });

  it('does not offer it once the business day (JST) has turned, though the merchant API may still cancel until the cutoff', () => {
    // 00:05 JST on the 4th: inside cancel.ts's window (until 00:15), but the till cancels only today's payments.
    expect(cancelableAtTill(paid(), new Date('2026-12-03T15:05:00Z'), CUTOFF_MINUTES)).toBe(false);
  });

  it('does not offer it for a fully refunded, an unpaid or a cancelled payment', () => {
    const at = new Date('2026-12-03T02:00:00Z');
    expect(cancelableAtTill(paid({ status: 'REFUNDED', refundedMinor: 1_000n }), at, CUTOFF_MINUTES)).toBe(false);
    expect(cancelableAtTill(paid({ status: 'REFUNDED', refundedMinor: 400n }), at, CUTOFF_MINUTES)).toBe(true);
    expect(cancelableAtTill(paid({ status: 'CREATED', acceptedAt: null, businessDate: null }), at, CUTOFF_MINUTES)).toBe(false);
    expect(cancelableAtTill(paid({ status: 'CANCELED' }), at, CUTOFF_MINUTES)).toBe(false);
  });
});

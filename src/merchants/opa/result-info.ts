// The OPA response envelope and the result codes Koban's OPA-compatible API answers with.
//
// This is the one place where Koban does not answer with RFC 9457 problem+json (docs/STYLE.md, Errors):
// wire compatibility with the PayPay SDKs requires `{ resultInfo: { code, message, codeId }, data }` on
// every response, errors included; the Node SDK prints a "troubleshoot" line from resultInfo.code/codeId
// for every non-2xx answer and reports "unexpected form" when the body is anything else.
//
// Codes and HTTP statuses are those of the published OPA reference ("Response code list"); the few that
// only appear elsewhere are marked. codeId: PayPay's own ids are opaque and mostly undocumented, so Koban
// uses its own 8-digit ids ("9" prefix) except SUCCESS, whose PayPay id appears in the SDK's README.

import { assert } from '../../platform/assert.ts';

export type OpaResultSpec = { readonly httpStatus: number; readonly codeId: string; readonly message: string };

export const OPA_RESULT_CODES = {
  // Common to every operation.
  SUCCESS: { httpStatus: 200, codeId: '08100001', message: 'Success' },
  REQUEST_ACCEPTED: { httpStatus: 202, codeId: '90000002', message: 'Request accepted' },
  INVALID_REQUEST_PARAMS: { httpStatus: 400, codeId: '90000003', message: 'Invalid request params' },
  MISSING_REQUEST_PARAMS: { httpStatus: 400, codeId: '90000004', message: 'Missing request params' },
  INVALID_PARAMS: { httpStatus: 400, codeId: '90000005', message: 'Invalid params' },
  UNAUTHORIZED: { httpStatus: 401, codeId: '90000006', message: 'Unauthorized request' },
  OP_OUT_OF_SCOPE: { httpStatus: 401, codeId: '90000007', message: 'The operation is not permitted' },
  RATE_LIMIT: { httpStatus: 429, codeId: '90000008', message: 'Too many requests' },
  SERVICE_ERROR: { httpStatus: 500, codeId: '90000009', message: 'Service error' },
  INTERNAL_SERVER_ERROR: { httpStatus: 500, codeId: '90000010', message: 'Internal server error' },
  MAINTENANCE_MODE: { httpStatus: 503, codeId: '90000011', message: 'Down for scheduled maintenance' },

  // Dynamic QR codes: create, delete, get payment details.
  DUPLICATE_DYNAMIC_QR_REQUEST: { httpStatus: 400, codeId: '90000101', message: 'Duplicate dynamic QR request' },
  DYNAMIC_QR_BAD_REQUEST: { httpStatus: 400, codeId: '90000102', message: 'Invalid dynamic QR request' },
  // 400, not 404, in the reference: the QR expired or never existed and no payment was made with it.
  DYNAMIC_QR_PAYMENT_NOT_FOUND: { httpStatus: 400, codeId: '90000103', message: 'Dynamic QR payment not found' },
  DYNAMIC_QR_NOT_FOUND: { httpStatus: 404, codeId: '90000104', message: 'Dynamic QR code not found' },
  PRE_AUTH_CAPTURE_UNSUPPORTED_MERCHANT: {
    httpStatus: 400,
    codeId: '90000105',
    message: 'Merchant does not support pre-authorisation',
  },
  PRE_AUTH_CAPTURE_INVALID_EXPIRY_DATE: {
    httpStatus: 400,
    codeId: '90000106',
    message: 'Authorisation expiry is beyond the allowed limit',
  },

  // Payments: create, cancel, capture, revert.
  // Only in the Node SDK's README (createPayment without agreeSimilarTransaction); status assumed 400.
  SUSPECTED_DUPLICATE_PAYMENT: {
    httpStatus: 400,
    codeId: '90000201',
    message: 'Order is rejected since a similar order has already been accepted',
  },
  NO_SUFFICIENT_FUND: { httpStatus: 400, codeId: '90000202', message: 'Insufficient balance' },
  LIMIT_EXCEEDED: { httpStatus: 400, codeId: '90000203', message: 'Payment amount exceeds the limit' },
  UNACCEPTABLE_OP: { httpStatus: 400, codeId: '90000204', message: 'Operation cannot be processed now' },
  ORDER_NOT_REVERSIBLE: { httpStatus: 400, codeId: '90000205', message: 'Order cannot be cancelled' },
  ORDER_NO_LONGER_AVAILABLE: { httpStatus: 400, codeId: '90000206', message: 'Order is no longer available' },
  ORDER_EXPIRED: { httpStatus: 400, codeId: '90000207', message: 'Order has expired' },
  ORDER_NOT_CAPTURABLE: { httpStatus: 400, codeId: '90000208', message: 'Order is not capturable' },
  ALREADY_CAPTURED: { httpStatus: 400, codeId: '90000209', message: 'Order is already captured' },
  ORDER_NOT_CANCELABLE: { httpStatus: 400, codeId: '90000210', message: 'Order is not cancelable' },
  REAUTH_MAX_LIMIT_EXCEEDED: {
    httpStatus: 400,
    codeId: '90000211',
    message: 'Maximum number of reauthorisations exceeded',
  },
  RESOURCE_NOT_FOUND: { httpStatus: 404, codeId: '90000212', message: 'Order not found' },

  // Refunds.
  THROTTLED_MULTIPLE_REFUND_REJECTED: {
    httpStatus: 400,
    codeId: '90000301',
    message: 'A similar refund is in progress; retry after 1 minute',
  },
  REFUND_LIMIT_EXCEEDED: { httpStatus: 400, codeId: '90000302', message: 'Maximum number of refunds reached' },
  REFUND_WINDOW_EXCEED: { httpStatus: 400, codeId: '90000303', message: 'Refund window exceeded' },
  MERCHANT_MULTIPLE_REFUND_REJECTED: {
    httpStatus: 403,
    codeId: '90000304',
    message: 'Multiple refunds are not enabled for this merchant',
  },
  NO_SUCH_REFUND_ORDER: { httpStatus: 404, codeId: '90000305', message: 'Refund not found' },

  // Koban's own, for the till API (customer-presented codes) and refund limits, which PayPay's public
  // reference does not cover. Same envelope, same conventions.
  PAYMENT_CODE_NOT_FOUND: { httpStatus: 400, codeId: '90000401', message: 'Payment code not found' },
  PAYMENT_CODE_EXPIRED: { httpStatus: 400, codeId: '90000402', message: 'Payment code expired; ask the customer to refresh it' },
  PAYMENT_CODE_ALREADY_USED: { httpStatus: 400, codeId: '90000403', message: 'Payment code already used' },
  // 90000404 was REFUND_AMOUNT_EXCEEDED: PayPay answers INVALID_PARAMS for a refund above what is left.
  DUPLICATE_REFUND_REQUEST: { httpStatus: 400, codeId: '90000405', message: 'merchantRefundId was already used for another payment' },
  DUPLICATE_PAYMENT_REQUEST: { httpStatus: 400, codeId: '90000406', message: 'merchantPaymentId was used with different details' },
  // The payment named by this merchantPaymentId is still being processed (LINE Pay's 1145): neither paid nor
  // failed yet. Send the same request again; it answers the outcome once there is one.
  PAYMENT_IN_PROGRESS: { httpStatus: 409, codeId: '90000407', message: 'Payment in progress; send the same request again' },
  // The customer's wallet is frozen (Koban support is checking the account): not a risk refusal, not a balance.
  WALLET_FROZEN: { httpStatus: 400, codeId: '90000408', message: "The customer's wallet is frozen" },
  // The ledger refused the payment or refund for a cause that is neither the balance nor the wallet's state.
  PAYMENT_FAILED: { httpStatus: 400, codeId: '90000409', message: 'The payment could not be completed' },
  REFUND_FAILED: { httpStatus: 400, codeId: '90000410', message: 'The refund could not be completed' },
  // A payment that waited for the customer's confirmation in the wallet (202 REQUEST_ACCEPTED, status CREATED
  // meanwhile) and ended without it: declined by the customer, or not confirmed in time (PayPay's
  // EXPIRED_USER_CONFIRMATION state). Nothing moved.
  USER_DECLINED: { httpStatus: 400, codeId: '90000411', message: 'The customer declined the payment' },
  EXPIRED_USER_CONFIRMATION: { httpStatus: 400, codeId: '90000412', message: 'The customer did not confirm the payment in time' },
} as const satisfies Record<string, OpaResultSpec>;

export type OpaResultCode = keyof typeof OPA_RESULT_CODES;

export type OpaEnvelope<T> = {
  resultInfo: { code: OpaResultCode; message: string; codeId: string };
  data: T | null;
};

export type OpaReply<T> = { statusCode: number; body: OpaEnvelope<T> };

export type OpaReplyOptions<T> = {
  data?: T | null;
  /** A more specific message for this response; the catalogue's is used otherwise. */
  message?: string;
  /** Some operations answer SUCCESS with 201 (create a QR code); the class of status cannot change. */
  httpStatus?: number;
};

/** The status and body for one OPA response. Errors carry `data: null`, as PayPay's do. */
export function opaReply<T>(code: OpaResultCode, options: OpaReplyOptions<T> = {}): OpaReply<T> {
  const spec: OpaResultSpec = OPA_RESULT_CODES[code];
  const statusCode = options.httpStatus ?? spec.httpStatus;
  assert(Math.floor(statusCode / 100) === Math.floor(spec.httpStatus / 100), `status ${statusCode} for ${code}`);
  return {
    statusCode,
    body: {
      resultInfo: { code, message: options.message ?? spec.message, codeId: spec.codeId },
      data: options.data ?? null,
    },
  };
}

/**
 * Every authentication failure gets the same answer, so a caller cannot probe which keys exist or how
 * the server's clock is set; the specific OpaAuthFailure goes to the log only.
 */
export function opaUnauthorized(): OpaReply<never> {
  return opaReply<never>('UNAUTHORIZED');
}

/** The till's view of /v1/till (src/payments/terminal/routes.ts): wire shapes and the calls. */
import { api, ApiError } from '../shared/api.ts';

export interface TillSession {
  terminal: { id: string; name: string };
  store: { id: string; name: string };
  merchant: { id: string; name: string };
  businessDate: string;
  dayClosed: boolean;
  csrfToken: string;
}

export interface TillRefund { refundId: string; merchantRefundId: string; status: string; amount: string; reason: string | null; completedAt: string | null }

export interface TillPayment {
  paymentId: string;
  merchantPaymentId: string;
  /** Short receipt number ("839A-7427"), the same the customer's wallet shows. */
  receiptNumber: string;
  /** In the sales list: the last four digits of the customer code it was paid with. */
  codeTail: string | null;
  /** The public receipt page for the customer to scan, once the payment was accepted. */
  receiptUrl: string | null;
  kind: string;
  status: string;
  amount: string;
  refunded: string;
  canceledAmount: string;
  refundable: string;
  cancelable: boolean;
  /** The customer must confirm this charge in the wallet first: send the same charge again to learn the outcome. */
  waitingForCustomer: boolean;
  acceptedAt: string | null;
  canceledAt: string | null;
  refunds: TillRefund[];
  reasons: Array<{ kind: string; refundId: string | null; reason: string; at: string }>;
}

export interface TillOrder { merchantPaymentId: string; codeId: string; qrPayload: string; amount: string; state: 'WAITING' | 'COMPLETED' | 'FAILED' | 'EXPIRED' | 'CANCELED'; expiresAt: string; payment: TillPayment }
export interface Totals { paymentsCount: number; gross: string; cancelsCount: number; cancels: string; refundsCount: number; refunds: string; net: string }
export interface DayClose { businessDate: string; closedAt: string; totals: Totals }
export interface Sales { businessDate: string; payments: TillPayment[]; totals: Totals; close: DayClose | null }

/** A fresh id per sale: the server answers a retry with the same id with the first result. */
export function newMerchantPaymentId(): string {
  return `till-${crypto.randomUUID()}`;
}

export const tillApi = {
  session: () => api<TillSession>('GET', '/v1/till/session'),
  activate: (code: string) => api<TillSession>('POST', '/v1/till/activate', { code }),
  signOut: () => api<null>('POST', '/v1/till/sign-out', {}),
  charge: (merchantPaymentId: string, code: string, amount: string) => api<TillPayment>('POST', '/v1/till/charges', { merchantPaymentId, code, amount }),
  createOrder: (merchantPaymentId: string, amount: string) => api<TillOrder>('POST', '/v1/till/orders', { merchantPaymentId, amount }),
  order: (merchantPaymentId: string) => api<TillOrder>('GET', `/v1/till/orders/${encodeURIComponent(merchantPaymentId)}`),
  withdrawOrder: (merchantPaymentId: string) => api<TillOrder>('DELETE', `/v1/till/orders/${encodeURIComponent(merchantPaymentId)}`),
  sales: () => api<Sales>('GET', '/v1/till/sales'),
  cancel: (merchantPaymentId: string, reason: string) => api<TillPayment>('POST', `/v1/till/payments/${encodeURIComponent(merchantPaymentId)}/cancel`, { reason }),
  refund: (merchantPaymentId: string, merchantRefundId: string, amount: string, reason: string) =>
    api<{ refund: TillRefund; payment: TillPayment }>('POST', `/v1/till/payments/${encodeURIComponent(merchantPaymentId)}/refunds`, { merchantRefundId, amount, reason }),
  close: () => api<DayClose>('POST', '/v1/till/close', {}),
};

/** The message key for an error: the problem's code when the till knows it, else a generic one. */
export function reasonKey(error: unknown, known: (key: string) => boolean): { key: string; code: string } {
  if (!(error instanceof ApiError)) return { key: 'error.network', code: 'network' };
  const key = `reason.${error.problem.code}`;
  return known(key) ? { key, code: error.problem.code } : { key: 'error.generic', code: error.problem.code };
}

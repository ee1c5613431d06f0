/**
 * Koban's business day is the Japanese calendar day (JST, UTC+9, no daylight saving): settlement, the
 * reconciliation file and the cancel window all follow it, as PayPay's do.
 */
const JST_OFFSET_MS = 9 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
export const BUSINESS_DATE_PATTERN = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

export function businessDate(at: Date): string {
  return new Date(at.getTime() + JST_OFFSET_MS).toISOString().slice(0, 10);
}

export function isBusinessDate(text: string): boolean {
  return BUSINESS_DATE_PATTERN.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
}

/** 00:00 JST of a business date, as an instant. */
export function startOfBusinessDate(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00Z`) - JST_OFFSET_MS);
}

export function nextBusinessDate(date: string): string {
  return businessDate(new Date(startOfBusinessDate(date).getTime() + DAY_MS));
}

/** A payment accepted on day D can be cancelled until D+1 00:00 JST plus the cutoff (PayPay: 00:14:59). */
export function cancelDeadline(acceptedAt: Date, cutoffMinutes: number): Date {
  const nextMidnight = startOfBusinessDate(nextBusinessDate(businessDate(acceptedAt)));
  return new Date(nextMidnight.getTime() + cutoffMinutes * 60_000);
}

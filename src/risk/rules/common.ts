/** Small helpers shared by the rule files. */
import { counterKey, networkOf } from '../keys.ts';
import type { CounterNeed, Facts, RiskEvent } from '../types.ts';

export function accountNeed(event: RiskEvent, what: string, bucketSec: number, windowSec: number, increment: boolean): CounterNeed[] {
  return event.accountId === null ? [] : [{ key: counterKey('acct', event.accountId, what), bucketSec, windowSec, increment }];
}

export function deviceNeed(event: RiskEvent, what: string, bucketSec: number, windowSec: number, increment: boolean): CounterNeed[] {
  return event.deviceId ? [{ key: counterKey('device', event.deviceId, what), bucketSec, windowSec, increment }] : [];
}

export function networkNeed(event: RiskEvent, what: string, bucketSec: number, windowSec: number, increment: boolean): CounterNeed[] {
  const network = networkOf(event.ip);
  return network === null ? [] : [{ key: counterKey('net', network, what), bucketSec, windowSec, increment }];
}

export function cardNeed(event: RiskEvent, what: string, bucketSec: number, windowSec: number, increment: boolean): CounterNeed[] {
  return event.cardRef ? [{ key: counterKey('card', event.cardRef, what), bucketSec, windowSec, increment }] : [];
}

export function storeNeed(event: RiskEvent, what: string, bucketSec: number, windowSec: number, increment: boolean): CounterNeed[] {
  return event.storeId ? [{ key: counterKey('store', event.storeId, what), bucketSec, windowSec, increment }] : [];
}

export function amountOf(event: RiskEvent): bigint {
  return event.amountMinor ?? 0n;
}

/**
 * Whether the paying device has been with this account at least `hours`: where a challenge's strong
 * confirmation (the PIN on the customer's established phone) can be given on the paying device itself, so a
 * challenge does not stop malware on that phone. On a newer device a challenge holds the payment already.
 */
export function payingFromEstablishedDevice(facts: Facts, hours: number): boolean {
  return facts.device !== null && facts.nowMs - facts.device.firstSeenMs >= hours * 3_600_000;
}

/** Small helpers shared by the rule files. */
import { counterKey, networkOf } from '../keys.ts';
import type { CounterNeed, RiskEvent } from '../types.ts';

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

/**
 * Counter keys and networks. A counter key names a dimension and the event kind it counts, plus its
 * bucket size; a network is the /24 of an IPv4 address or the /48 of an IPv6 one (one subscriber line
 * or one small hosting block), so an attacker rotating through neighbouring addresses stays one key.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const BUCKET = { fine: 10, medium: 300, coarse: 3600, day: 86_400 } as const;
/** Day buckets hold a customer's spending history (the account budget is sized from it): kept this long. */
export const HISTORY_DAYS_MAX = 60;
export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86_400;
/** Keys whose increments are spread over shards because every event of a busy store or network hits them. */
export const SHARDED_PREFIXES = ['store:', 'net:'] as const;
export const SHARDS = 4;

export function counterKey(dimension: string, value: string, what: string): string {
  return `${dimension}:${value}:${what}`;
}

/** The bucket a window starts in: sums cover [bucket start, now], up to one bucket more than the window. */
export function windowStart(nowSec: number, bucketSec: number, windowSec: number): number {
  return Math.floor((nowSec - windowSec) / bucketSec) * bucketSec;
}

export function bucketOf(nowSec: number, bucketSec: number): number {
  return Math.floor(nowSec / bucketSec) * bucketSec;
}

export function networkOf(ip: string | null | undefined): string | null {
  if (ip === null || ip === undefined) return null;
  const address = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(address)) return `${expandIPv6(address).slice(0, 3).join(':')}::/48`;
  return null;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const zeros = address.includes('::') ? Array.from({ length: 8 - left.length - right.length }, () => '0') : [];
  return [...left, ...zeros, ...right].map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** Great-circle distance in kilometres (haversine): good to a few metres, plenty for "far from home". */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

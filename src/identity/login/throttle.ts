/**
 * Fixed-window failure counters in PostgreSQL, shared by every Koban process (AUTH-05). One row per
 * key; a hit in an expired window starts a new window at 1. Keys: `login:ip:<ip>`,
 * `login:net:<prefix>`, `login:acct:<customer>`, `login:global`, `signup:ip:<ip>`, `recovery:id:<hash>`,
 * `contact_change:<customer>`, `alert:pw_pending:<customer>`.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { isIPv4, isIPv6 } from 'node:net';

export async function hitCounter(db: Queryable, key: string, windowMs: number): Promise<number> {
  const result = await db.query<{ count: number }>(
    `insert into throttle_counters (key, count, window_started_at) values ($1, 1, now())
     on conflict (key) do update set
       count = case when throttle_counters.window_started_at < now() - make_interval(secs => $2::double precision / 1000) then 1 else throttle_counters.count + 1 end,
       window_started_at = case when throttle_counters.window_started_at < now() - make_interval(secs => $2::double precision / 1000) then now() else throttle_counters.window_started_at end
     returning count`,
    [key, windowMs],
  );
  return result.rows[0]?.count ?? 0;
}

export async function peekCounter(db: Queryable, key: string, windowMs: number): Promise<number> {
  const result = await db.query<{ count: number }>(
    `select count from throttle_counters where key = $1 and window_started_at >= now() - make_interval(secs => $2::double precision / 1000)`,
    [key, windowMs],
  );
  return result.rows[0]?.count ?? 0;
}

export async function resetCounter(db: Queryable, key: string): Promise<void> {
  await db.query('delete from throttle_counters where key = $1', [key]);
}

/** The network an address belongs to for throttling: its /24 (IPv4) or /64 (IPv6). */
export function networkOf(ip: string): string {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(ip)) return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
  return ip;
}

function expandIPv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const fill = ip.includes('::') ? Array(8 - left.length - right.length).fill('0') : [];
  return [...left, ...fill, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}

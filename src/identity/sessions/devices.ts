/**
 * Remembered devices. The browser holds a random device id in an HttpOnly cookie; Koban keeps its
 * SHA-256 per customer, and only after a second factor was passed on that device. A device Koban has
 * not seen for this account always needs a second factor (AUTH-07).
 */
import type { Queryable } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { sha256 } from '../secrets.ts';

export const DEVICES_LIST_MAX = 100;
const LABEL_LENGTH_MAX = 200;

export async function knownDeviceId(db: Queryable, customerId: string, deviceToken: string | null): Promise<string | null> {
  if (deviceToken === null) return null;
  const result = await db.query<{ id: string }>('select id from devices where customer_id = $1 and device_hash = $2', [customerId, sha256(deviceToken)]);
  return result.rows[0]?.id ?? null;
}

/** Called only after a passed second factor on this device. Returns the device id and whether it is new. */
export async function rememberDevice(db: Queryable, customerId: string, deviceToken: string, userAgent: string | null): Promise<{ id: string; isNew: boolean }> {
  const result = await db.query<{ id: string; inserted: boolean }>(
    `insert into devices (id, customer_id, device_hash, label) values ($1, $2, $3, $4)
     on conflict (customer_id, device_hash) do update set last_seen_at = now()
     returning id, (xmax = 0) as inserted`,
    [uuidv7(), customerId, sha256(deviceToken), (userAgent ?? 'unknown device').slice(0, LABEL_LENGTH_MAX)],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('device upsert returned nothing');
  return { id: row.id, isNew: row.inserted };
}

export async function touchDevice(db: Queryable, deviceId: string): Promise<void> {
  await db.query('update devices set last_seen_at = now() where id = $1', [deviceId]);
}

export interface DeviceView { readonly id: string; readonly label: string; readonly createdAt: Date; readonly lastSeenAt: Date }

export async function listDevices(db: Queryable, customerId: string): Promise<DeviceView[]> {
  const result = await db.query<{ id: string; label: string; created_at: Date; last_seen_at: Date }>(
    'select id, label, created_at, last_seen_at from devices where customer_id = $1 order by last_seen_at desc limit $2',
    [customerId, DEVICES_LIST_MAX],
  );
  return result.rows.map((row) => ({ id: row.id, label: row.label, createdAt: row.created_at, lastSeenAt: row.last_seen_at }));
}

/** Forgets a device and ends its sessions: the next sign-in there needs a second factor again. */
export async function removeDevice(db: Queryable, customerId: string, deviceId: string): Promise<boolean> {
  await db.query('update sessions set revoked_at = now() where customer_id = $1 and device_id = $2 and revoked_at is null', [customerId, deviceId]);
  const result = await db.query('delete from devices where id = $1 and customer_id = $2', [deviceId, customerId]);
  return result.rowCount === 1;
}

/** How long a device must have been remembered to count as the customer's own established one. */
export const ESTABLISHED_DEVICE_AGE_MS = 24 * 3_600_000;

/**
 * A device the account has remembered for at least a day (a second factor was passed on it then): what a
 * thief on a fresh sign-in does not hold. A payment held for a strong confirmation is released from one.
 */
export async function isEstablishedDevice(db: Queryable, customerId: string, deviceId: string): Promise<boolean> {
  const result = await db.query('select 1 from devices where id = $1 and customer_id = $2 and created_at <= now() - make_interval(secs => $3::double precision / 1000)',
    [deviceId, customerId, ESTABLISHED_DEVICE_AGE_MS]);
  return result.rowCount === 1;
}


/**
 * Outside production only (`koban drill`'s established customers, src/wiring-drill.ts): the account's
 * remembered devices as if first remembered `ageMs` earlier. Nothing else can make a device established (a
 * day old), so without it every drill victim was a newcomer. Sessions are left alone: their absolute
 * timeout runs from their own creation, and a backdated one would simply end.
 */
export async function backdateDevices(db: Queryable, customerId: string, ageMs: number): Promise<number> {
  const result = await db.query('update devices set created_at = created_at - make_interval(secs => $2::double precision / 1000) where customer_id = $1',
    [customerId, ageMs]);
  return result.rowCount ?? 0;
}

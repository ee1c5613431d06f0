/**
 * `POST /dev/drill/established-customers`: makes a drill customer established — outside production only,
 * mounted beside the development outbox (`/dev/outbox.json`, which the drill already needs) and never with
 * NODE_ENV=production. Issue 13's attacks are on established victims (a phone years old, a history of
 * spending), but nothing through the customer API can age a device or a history, so every drill victim was a
 * newcomer. Each module ages only its own rows: identity its remembered devices (a day old makes a device
 * established, devices.ts) and verified contacts (an address a day old may receive a held payment's code), risk its links and the day buckets the account budget is sized from
 * (risk/establish.ts). The ledger is never rewritten.
 */
import { Type } from 'typebox';
import type { App } from './http/app.ts';
import { backdateContacts } from './identity/contacts/contacts.ts';
import { backdateDevices } from './identity/sessions/devices.ts';
import type { Clock } from './platform/clock.ts';
import type { Config } from './platform/config.ts';
import type { Database } from './platform/db/database.ts';
import { KobanError } from './platform/errors.ts';
import { UUID_PATTERN } from './platform/ids.ts';
import { backdateRiskHistory } from './risk/establish.ts';

const DAY_MS = 86_400_000;

const Body = Type.Object({
  customerId: Type.String({ pattern: UUID_PATTERN }),
  ageDays: Type.Integer({ minimum: 2, maximum: 3650 }),
  dailySpendMinor: Type.String({ pattern: '^[0-9]{1,9}$' }),
  paymentsPerDay: Type.Integer({ minimum: 0, maximum: 100 }),
  storeIds: Type.Array(Type.String({ pattern: UUID_PATTERN }), { maxItems: 20 }),
}, { additionalProperties: false });

const Out = Type.Object({ devices: Type.Integer(), contacts: Type.Integer(), links: Type.Integer(), historyDays: Type.Integer() });

/** Registers the route unless Koban runs in production (then the path does not exist: 404). */
export function registerDrillEstablishRoutes(app: App, db: Database, nodeEnv: Config['nodeEnv'], clock: Clock): boolean {
  if (nodeEnv === 'production') return false;
  app.post('/dev/drill/established-customers', {
    schema: { tags: ['development'], summary: 'Ages a drill customer: devices, risk links and spending history as if it were ageDays old (not in production)', body: Body, response: { 200: Out } },
  }, async (request) => {
    const { customerId, ageDays, dailySpendMinor, paymentsPerDay, storeIds } = request.body;
    const devices = await backdateDevices(db.pool, customerId, ageDays * DAY_MS);
    if (devices === 0) throw new KobanError('device_not_found', { detail: 'this customer has no remembered device to age' });
    const contacts = await backdateContacts(db.pool, customerId, ageDays * DAY_MS);
    const risk = await backdateRiskHistory(db.pool, clock, { accountId: customerId, ageDays, dailySpendMinor: BigInt(dailySpendMinor), paymentsPerDay, storeIds });
    return { devices, contacts, ...risk };
  });
  return true;
}

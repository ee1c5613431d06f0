/**
 * Kill switches, stored in PostgreSQL and cached in every process. Reads are synchronous and local
 * (`isOn`, `assertOn`: no I/O on the payment path); a change is written with its reason, operator
 * and audit entry in one transaction, then every process reloads within one second (change-feed.ts).
 */
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { recordAudit, type AuditActor } from '../audit/audit-log.ts';
import { notifyChange, type ChangeFeed } from '../change-feed.ts';
import { isKnownSwitch, SWITCH_CATALOGUE, switchLineage } from './catalogue.ts';

export type SwitchPosition = 'on' | 'off';

export interface StoredSwitch {
  readonly name: string;
  readonly state: SwitchPosition;
  readonly reason: string;
  readonly changedBy: string;
  readonly changedAt: Date;
  readonly version: number;
}

export interface SwitchView {
  readonly name: string;
  readonly description: string;
  /** Its own position; `effective` also counts its ancestors. */
  readonly state: SwitchPosition;
  readonly effective: SwitchPosition;
  readonly lastChange: StoredSwitch | null;
}

export interface SwitchChange {
  readonly name: string;
  readonly state: SwitchPosition;
  readonly reason: string;
  readonly actor: AuditActor;
  readonly ip?: string | null;
  readonly requestId?: string | null;
}

export interface Switches {
  isOn(name: string): boolean;
  /** Throws `service_switched_off` (503) naming the switch that is off. */
  assertOn(name: string): void;
  list(): SwitchView[];
  set(change: SwitchChange): Promise<SwitchView>;
  /** Re-reads the table now (the change feed also does it on its own). */
  refresh(): Promise<void>;
}

export const SWITCH_REASON_LENGTH = { min: 3, max: 1000 } as const;
export const SWITCHES_TOPIC = 'switches';

interface SwitchRow { name: string; state: SwitchPosition; reason: string; changed_by: string; changed_at: Date; version: bigint }

export async function createSwitches(db: Database, feed: ChangeFeed): Promise<Switches> {
  let stored = new Map<string, StoredSwitch>();
  const refresh = async (): Promise<void> => {
    const result = await db.pool.query<SwitchRow>('select name, state, reason, changed_by, changed_at, version from operation_switches');
    stored = new Map(result.rows.map((row) => [row.name, toStored(row)]));
  };
  await refresh();
  feed.subscribe(SWITCHES_TOPIC, refresh);

  const offAmong = (name: string): string | null => {
    assert(isKnownSwitch(name), `switch ${name} is in the catalogue`);
    return switchLineage(name).find((candidate) => stored.get(candidate)?.state === 'off') ?? null;
  };
  const view = (name: string, description: string): SwitchView => ({
    name, description,
    state: stored.get(name)?.state ?? 'on',
    effective: offAmong(name) === null ? 'on' : 'off',
    lastChange: stored.get(name) ?? null,
  });

  return {
    isOn: (name) => offAmong(name) === null,
    assertOn(name) {
      const off = offAmong(name);
      if (off === null) return;
      const record = stored.get(off);
      throw new KobanError('service_switched_off', {
        detail: `${name} is switched off${off === name ? '' : ` (by ${off})`}`,
        extensions: { switch: name, switchedOffBy: off, since: record?.changedAt.toISOString() ?? null },
      });
    },
    list() {
      const names = new Map(SWITCH_CATALOGUE.map((d) => [d.name, d.description]));
      for (const name of stored.keys()) if (!names.has(name)) names.set(name, `sign-in with the social provider ${name.split('.')[2] ?? ''}`);
      return [...names].map(([name, description]) => view(name, description));
    },
    async set(change) {
      validateChange(change);
      await withTransaction(db, async (client) => {
        const previous = await client.query<{ state: SwitchPosition }>('select state from operation_switches where name = $1 for update', [change.name]);
        const written = await client.query<{ version: bigint }>(
          `insert into operation_switches (name, state, reason, changed_by, version) values ($1, $2, $3, $4, 1)
           on conflict (name) do update set state = excluded.state, reason = excluded.reason, changed_by = excluded.changed_by,
             changed_at = now(), version = operation_switches.version + 1
           returning version`, [change.name, change.state, change.reason, `${change.actor.kind}:${change.actor.id}`]);
        await recordAudit(client, {
          actor: change.actor, action: change.state === 'off' ? 'switch.turned_off' : 'switch.turned_on', target: { kind: 'switch', id: change.name },
          reason: change.reason, outcome: 'success', ip: change.ip ?? null, requestId: change.requestId ?? null,
          details: { from: previous.rows[0]?.state ?? 'on', to: change.state, version: written.rows[0]?.version ?? null },
        });
        await notifyChange(client, SWITCHES_TOPIC);
      });
      await refresh();
      const description = SWITCH_CATALOGUE.find((d) => d.name === change.name)?.description ?? 'sign-in with one social provider';
      return view(change.name, description);
    },
    refresh,
  };
}

function validateChange(change: SwitchChange): void {
  if (!isKnownSwitch(change.name)) throw new KobanError('switch_unknown', { detail: `no switch named ${change.name}` });
  const reason = change.reason.trim();
  if (reason.length < SWITCH_REASON_LENGTH.min || reason.length > SWITCH_REASON_LENGTH.max) {
    throw new KobanError('validation_failed', {
      detail: `a reason of ${SWITCH_REASON_LENGTH.min} to ${SWITCH_REASON_LENGTH.max} characters is required`,
      errors: [{ pointer: '/body/reason', message: `must be ${SWITCH_REASON_LENGTH.min} to ${SWITCH_REASON_LENGTH.max} characters` }],
    });
  }
}

function toStored(row: SwitchRow): StoredSwitch {
  return { name: row.name, state: row.state, reason: row.reason, changedBy: row.changed_by, changedAt: row.changed_at, version: Number(row.version) };
}

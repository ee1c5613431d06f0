/**
 * Rule settings and lists as every process sees them: loaded from PostgreSQL into memory, reloaded on
 * change (NOTIFY) and at least every second, so `assess` reads them without I/O. Changes are new
 * versions (never overwritten), carry a reason and operator, and are audited in the same transaction.
 */
import { BlockList, isIP } from 'node:net';
import { assert } from '../platform/assert.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { sqlState, withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { recordAudit, type AuditActor } from '../operations/audit/audit-log.ts';
import { notifyChange, type ChangeFeed } from '../operations/change-feed.ts';
import type { ParamDescription } from './params.ts';
import { DEFAULT_RULES, type AnyRule } from './rules/index.ts';
import { RISK_LISTS, type ListView, type RiskAction, type RiskListName, type RuleSetting } from './types.ts';

export const RISK_TOPIC = 'risk';
const LIST_ENTRIES_MAX = 100_000;

export interface RuleView {
  readonly id: string;
  readonly description: string;
  readonly kinds: readonly string[];
  readonly enabled: boolean;
  readonly action: RiskAction;
  readonly params: Record<string, unknown>;
  /** Each parameter's unit and bounds (the console's labels). */
  readonly paramInfo: ParamDescription[];
  /** 0 while the shipped defaults are in force. */
  readonly version: number;
}

export interface ListEntry {
  readonly id: string;
  readonly list: RiskListName;
  readonly value: string;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
}

export interface RuleChange {
  readonly enabled?: boolean;
  readonly action?: RiskAction;
  readonly params?: Record<string, unknown>;
}

export interface RiskSettings {
  readonly rules: readonly AnyRule[];
  ruleVersion(): number;
  settingOf(rule: AnyRule): RuleSetting<unknown>;
  lists(): ListView;
  describeRules(): RuleView[];
  listEntries(): ListEntry[];
  refresh(): Promise<void>;
  updateRule(ruleId: string, change: RuleChange, actor: AuditActor, reason: string): Promise<RuleView>;
  addToList(list: RiskListName, value: string, reason: string, actor: AuditActor, expiresAt?: Date | null): Promise<ListEntry>;
  removeFromList(list: RiskListName, value: string, reason: string, actor: AuditActor): Promise<void>;
}

interface Snapshot {
  version: number;
  settings: Map<string, RuleSetting<unknown>>;
  entries: ListEntry[];
  exact: Map<RiskListName, Set<string>>;
  networks: { blocked_network: BlockList; marked_network: BlockList };
}

export async function createRiskSettings(db: Database, feed: ChangeFeed, rules: readonly AnyRule[] = DEFAULT_RULES, clock: Clock = systemClock): Promise<RiskSettings> {
  let snapshot = await load(db, rules, clock());
  const refresh = async (): Promise<void> => {
    snapshot = await load(db, rules, clock());
  };
  feed.subscribe(RISK_TOPIC, refresh);
  const settingOf = (rule: AnyRule): RuleSetting<unknown> => snapshot.settings.get(rule.id) ?? { ...rule.defaults, version: 0 };
  const view = (rule: AnyRule): RuleView => {
    const setting = settingOf(rule);
    return { id: rule.id, description: rule.description, kinds: rule.kinds, enabled: setting.enabled, action: setting.action, params: rule.serialize(setting.params), paramInfo: rule.describeParams(), version: setting.version };
  };
  return {
    rules,
    ruleVersion: () => snapshot.version,
    settingOf,
    lists: () => listView(snapshot),
    describeRules: () => rules.map(view),
    listEntries: () => snapshot.entries,
    refresh,
    async updateRule(ruleId, change, actor, reason) {
      const rule = rules.find((candidate) => candidate.id === ruleId);
      if (rule === undefined) throw new KobanError('risk_rule_unknown', { detail: `no rule ${ruleId}` });
      requireReason(reason);
      await withTransaction(db, async (client) => {
        const ruleset = await client.query<{ version: bigint }>('update risk_ruleset set version = version + 1 returning version');
        const latest = await client.query<{ version: number; enabled: boolean; action: RiskAction; params: unknown }>(
          'select version, enabled, action, params from risk_rule_settings where rule_id = $1 order by version desc limit 1', [ruleId]);
        const current = latest.rows[0];
        const before = current === undefined ? { enabled: rule.defaults.enabled, action: rule.defaults.action, params: rule.serialize(rule.defaults.params) } : current;
        const params = rule.parse({ ...(before.params as object), ...(change.params ?? {}) });
        const after = { enabled: change.enabled ?? before.enabled, action: change.action ?? before.action, params: rule.serialize(params) };
        await client.query('insert into risk_rule_settings (rule_id, version, enabled, action, params, reason, changed_by) values ($1, $2, $3, $4, $5, $6, $7)',
          [ruleId, (current?.version ?? 0) + 1, after.enabled, after.action, JSON.stringify(after.params), reason, `${actor.kind}:${actor.id}`]);
        await recordAudit(client, { actor, action: 'risk.rule_changed', target: { kind: 'risk_rule', id: ruleId }, reason, outcome: 'success',
          details: { before, after, rulesetVersion: ruleset.rows[0]?.version ?? null } });
        await notifyChange(client, RISK_TOPIC);
      });
      await refresh();
      return view(rule);
    },
    async addToList(list, value, reason, actor, expiresAt = null) {
      const normalized = normalizeListValue(list, value);
      requireReason(reason);
      const id = uuidv7();
      try {
        await withTransaction(db, async (client) => {
          await refuseExpiryInThePast(client, expiresAt);
          // An entry that expired still holds the value's unique slot: retire it so the value can be listed again.
          await client.query(`update risk_lists set removed_at = now(), removed_by = 'system:expired' where list = $1 and value = $2 and removed_at is null and expires_at <= now()`, [list, normalized]);
          await client.query('insert into risk_lists (id, list, value, reason, created_by, expires_at) values ($1, $2, $3, $4, $5, $6)',
            [id, list, normalized, reason, `${actor.kind}:${actor.id}`, expiresAt]);
          await client.query('update risk_ruleset set version = version + 1');
          await recordAudit(client, { actor, action: 'risk.list_added', target: { kind: list, id: normalized }, reason, outcome: 'success', details: { expiresAt: expiresAt?.toISOString() ?? null } });
          await notifyChange(client, RISK_TOPIC);
        });
      } catch (error) {
        if (sqlState(error) !== '23505') throw error;
        // Already on the list: adding it again changes nothing.
      }
      await refresh();
      const entry = snapshot.entries.find((e) => e.list === list && e.value === normalized);
      assert(entry !== undefined, 'a list entry just added is loaded');
      return entry;
    },
    async removeFromList(list, value, reason, actor) {
      const normalized = normalizeListValue(list, value);
      requireReason(reason);
      await withTransaction(db, async (client) => {
        const removed = await client.query(`update risk_lists set removed_at = now(), removed_by = $3 where list = $1 and value = $2 and removed_at is null`,
          [list, normalized, `${actor.kind}:${actor.id}`]);
        if (removed.rowCount === 0) throw new KobanError('not_found', { detail: `${normalized} is not on ${list}` });
        await client.query('update risk_ruleset set version = version + 1');
        await recordAudit(client, { actor, action: 'risk.list_removed', target: { kind: list, id: normalized }, reason, outcome: 'success' });
        await notifyChange(client, RISK_TOPIC);
      });
      await refresh();
    },
  };
}

/** Rules and lists as of `at` (the injected clock): a list entry expired by then is left out. */
async function load(db: Database, rules: readonly AnyRule[], at: Date): Promise<Snapshot> {
  const [version, settings, lists] = await Promise.all([
    db.pool.query<{ version: bigint }>('select version from risk_ruleset'),
    db.pool.query<{ rule_id: string; version: number; enabled: boolean; action: RiskAction; params: unknown }>(
      'select distinct on (rule_id) rule_id, version, enabled, action, params from risk_rule_settings order by rule_id, version desc'),
    db.pool.query<{ id: string; list: RiskListName; value: string; reason: string; created_by: string; created_at: Date; expires_at: Date | null }>(
      `select id, list, value, reason, created_by, created_at, expires_at from risk_lists
       where removed_at is null and (expires_at is null or expires_at > $2) order by created_at limit $1`, [LIST_ENTRIES_MAX, at]),
  ]);
  const byId = new Map(rules.map((rule) => [rule.id, rule]));
  const parsed = new Map<string, RuleSetting<unknown>>();
  for (const row of settings.rows) {
    const rule = byId.get(row.rule_id);
    // A stored setting for a rule this build no longer ships is ignored, not fatal.
    if (rule !== undefined) parsed.set(row.rule_id, { enabled: row.enabled, action: row.action, params: rule.parse(row.params), version: row.version });
  }
  const entries = lists.rows.map((row): ListEntry => ({ id: row.id, list: row.list, value: row.value, reason: row.reason, createdBy: row.created_by, createdAt: row.created_at, expiresAt: row.expires_at }));
  const exact = new Map<RiskListName, Set<string>>(RISK_LISTS.map((list) => [list, new Set<string>()]));
  const networks = { blocked_network: new BlockList(), marked_network: new BlockList() };
  for (const entry of entries) {
    exact.get(entry.list)?.add(entry.value);
    if (entry.list === 'blocked_network' || entry.list === 'marked_network') addNetwork(networks[entry.list], entry.value);
  }
  return { version: Number(version.rows[0]?.version ?? 0n), settings: parsed, entries, exact, networks };
}

function listView(snapshot: Snapshot): ListView {
  return {
    has: (list, value) => snapshot.exact.get(list)?.has(value) ?? false,
    networkIn(list, ip) {
      const family = isIP(ip);
      return family !== 0 && snapshot.networks[list].check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

function addNetwork(blockList: BlockList, cidr: string): void {
  const [address = '', prefix] = cidr.split('/');
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  blockList.addSubnet(address, Number(prefix ?? (family === 'ipv4' ? 32 : 128)), family);
}

/** On the database's clock, the one the list is read with: an entry that expired at once would be added and never seen. */
async function refuseExpiryInThePast(client: Queryable, expiresAt: Date | null): Promise<void> {
  if (expiresAt === null) return;
  const result = await client.query<{ future: boolean }>('select $1::timestamptz > now() as future', [expiresAt]);
  if (result.rows[0]?.future !== true) {
    throw new KobanError('validation_failed', { detail: 'expiresAt must be in the future', errors: [{ pointer: '/body/expiresAt', message: 'must be in the future' }] });
  }
}

function normalizeListValue(list: RiskListName, value: string): string {
  const trimmed = value.trim();
  const refuse = (message: string): never => {
    throw new KobanError('validation_failed', { detail: `${list}: ${message}`, errors: [{ pointer: '/body/value', message }] });
  };
  if (list === 'marked_country') return /^[A-Za-z]{2}$/.test(trimmed) ? trimmed.toUpperCase() : refuse('must be an ISO 3166-1 alpha-2 country code');
  if (list === 'blocked_network' || list === 'marked_network') {
    const [address = '', prefix, extra] = trimmed.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
    if (family === 0 || extra !== undefined || !Number.isInteger(bits) || bits < (family === 4 ? 8 : 16) || bits > (family === 4 ? 32 : 128)) {
      return refuse('must be an IP address or a CIDR block no wider than /8 (IPv4) or /16 (IPv6)');
    }
    return `${address.toLowerCase()}/${bits}`;
  }
  return trimmed.length >= 1 && trimmed.length <= 200 ? trimmed : refuse('must be 1 to 200 characters');
}

function requireReason(reason: string): void {
  const length = reason.trim().length;
  if (length < 3 || length > 1000) throw new KobanError('validation_failed', { detail: 'a reason of 3 to 1000 characters is required', errors: [{ pointer: '/body/reason', message: 'must be 3 to 1000 characters' }] });
}

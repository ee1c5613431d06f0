/**
 * `assess(event)`: score an event before it happens. Two round trips to PostgreSQL, whatever the number
 * of rules: one statement upserts this event's counters and links and reads every window sum, link
 * count and store location the enabled rules need; one insert records the decision with its reasons.
 * Rule settings and lists come from memory (settings.ts). Counters are shared by every process, so the
 * decision does not depend on which node serves the request. A database error fails the caller's
 * operation (fail closed): nothing is allowed unscored.
 */
import { assert } from '../platform/assert.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { isUuid, uuidv7 } from '../platform/ids.ts';
import { bucketOf, BUCKET, counterKey, HISTORY_DAYS_MAX, networkOf, SHARDED_PREFIXES, SHARDS, windowStart } from './keys.ts';
import type { RiskSettings } from './settings.ts';
import { assessBatch, STORE_ID_OF_KEY, type BatchEngineParts, type RiskBatch } from './assess-batch.ts';
import { RISK_EVENT_KINDS, SEVERITY, type CountedLink, type CounterNeed, type CounterValue, type Facts, type LinkFact, type PendingDecision, type RiskDecision, type RiskDecisionKind, type RiskEvent, type RiskFailure, type RiskReason, type SecuritySignal, type StoreFact } from './types.ts';

export const ACTION_SCORE = { challenge: 30, review: 60, deny: 90 } as const;
const FIELD_LENGTH_MAX = 200;

export interface RiskEngine {
  assess(event: RiskEvent): Promise<RiskDecision>;
  /**
   * As `assess`, but an allow comes back unrecorded (`pending`), for a caller that records it in the transaction
   * that acts on it (the payments' group commit: one multi-row insert per batch instead of one statement and one
   * commit per payment, issue 11). Anything but an allow is recorded at once, as `assess` does.
   */
  assessPending(event: RiskEvent): Promise<{ decision: RiskDecision; pending: PendingDecision | null }>;
  /**
   * Scores a batch of events inside the caller's transaction, at a fixed number of statements whatever its size
   * (assess-batch.ts): the same decisions as `assess` on each in order; `record` writes them in that transaction.
   */
  assessBatch(client: Queryable, events: readonly RiskEvent[]): Promise<RiskBatch>;
  /** Records pending allows in one statement, on the caller's transaction (or the pool). Each is recorded once. */
  recordPending(client: Queryable, pending: readonly PendingDecision[]): Promise<void>;
  recordFailure(failure: RiskFailure): Promise<void>;
  /**
   * A complete sign-in (every factor it needed) ends the account's run of failed passwords and PINs: failure_burst
   * counts consecutive failures (NIST SP 800-63B's limit is on consecutive failed attempts), so an owner's typos
   * between right sign-ins never add up to a burst. A network's failures stay: they are many people's.
   */
  clearAccountFailures(accountId: string): Promise<void>;
  /** Records a security signal as a review-level decision and raises it as an alert (a case when it names a customer). */
  recordSignal(signal: SecuritySignal): Promise<RiskDecision>;
  /** Deletes counters older than the longest window; bounded per call. */
  pruneCounters(limit?: number): Promise<number>;
}

export type AlertHandler = (event: RiskEvent, decision: RiskDecision) => Promise<void>;

export function createRiskEngine(db: Database, settings: RiskSettings, onAlert: AlertHandler | null, clock: Clock = systemClock): RiskEngine {
  // What a pending allow stands for, known only here. Kept until the pending object is collected: a caller whose
  // transaction rolled back records it again (on its own); a caller records each once per commit.
  const pendingEvents = new WeakMap<PendingDecision, { event: RiskEvent; decision: RiskDecision }>();
  const decide = async (event: RiskEvent): Promise<RiskDecision> => {
    checkEvent(event);
    const nowMs = clock().getTime();
    const active = settings.rules.filter((rule) => rule.kinds.includes(event.kind)).map((rule) => ({ rule, setting: settings.settingOf(rule) }))
      .filter(({ setting }) => setting.enabled);
    const needs = active.flatMap(({ rule, setting }) => rule.needs(event, setting.params));
    const counted = [...new Set(active.flatMap(({ rule }) => rule.countsAccountsOf ?? []))];
    const facts = await gatherFacts(db, event, needs, counted, nowMs, settings);
    const reasons: RiskReason[] = [];
    const after: CounterNeed[] = [];
    for (const { rule, setting } of active) {
      const hit = rule.evaluate(event, facts, setting.params);
      if (hit !== null) reasons.push({ rule: rule.id, action: setting.action, score: ACTION_SCORE[setting.action], ...hit });
      after.push(...(rule.countsAfter?.(event, facts, setting.params) ?? []));
    }
    // Counters a rule writes only once it knows they apply (merchant convergence: recently-changed accounts only).
    if (after.length > 0) await countAfter(db, after, nowMs, event.amountMinor ?? 0n);
    return combine(reasons, settings.ruleVersion(), event);
  };
  const batchParts: BatchEngineParts = {
    settings, actionScore: ACTION_SCORE, checkEvent, combine, decisionValues, linksOf,
    alert: async (event, decision) => { if (onAlert !== null) await onAlert(event, decision); },
  };
  return {
    assessBatch: (client, events) => assessBatch(batchParts, client, events, clock().getTime()),
    async assessPending(event) {
      const decision = await decide(event);
      if (decision.decision === 'allow') {
        const pending: PendingDecision = { decisionId: decision.id };
        pendingEvents.set(pending, { event, decision });
        return { decision, pending };
      }
      await recordDecision(db, event, decision);
      if (onAlert !== null) await onAlert(event, decision);
      return { decision, pending: null };
    },
    async recordPending(client, pending) {
      const rows = pending.flatMap((p) => {
        const known = pendingEvents.get(p);
        assert(known !== undefined, 'a pending decision comes from this engine');
        return [decisionValues(known.event, known.decision)];
      });
      if (rows.length === 0) return;
      const column = (at: number) => rows.map((row) => row[at] ?? null);
      await client.query({
        name: 'risk_record_pending',
        text: `insert into risk_events (id, kind, account_id, decision, score, reasons, rule_version, device_id, ip, country, card_ref, store_id, amount_minor, event_ref)
               select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::int[], $8::text[], $9::text[], $10::text[],
                                    $11::text[], $12::text[], $13::bigint[], $14::text[])`,
        values: Array.from({ length: 14 }, (_, at) => column(at)),
      });
    },
    async assess(event) {
      const decision = await decide(event);
      await recordDecision(db, event, decision);
      if (decision.decision !== 'allow' && onAlert !== null) await onAlert(event, decision);
      return decision;
    },
    async recordFailure(failure) {
      const network = networkOf(failure.ip);
      const keys = [
        ...(failure.accountId === null ? [] : [counterKey('acct', failure.accountId, 'failure')]),
        ...(network === null ? [] : [counterKey('net', network, 'failure')]),
      ];
      if (keys.length === 0) return;
      const nowSec = Math.floor(clock().getTime() / 1000);
      await db.pool.query(
        `insert into risk_counters (key, bucket, shard, count, amount_minor) select k, $2, $3, 1, 0 from unnest($1::text[]) as t(k)
         on conflict (key, bucket, shard) do update set count = risk_counters.count + 1`,
        [keys.map((key) => `${key}|${BUCKET.medium}`), bucketOf(nowSec, BUCKET.medium), Math.floor(Math.random() * SHARDS)]);
    },
    async clearAccountFailures(accountId) {
      await db.pool.query('delete from risk_counters where key = $1', [`${counterKey('acct', accountId, 'failure')}|${BUCKET.medium}`]);
    },
    async recordSignal(signal) {
      const event: RiskEvent = { kind: 'security_signal', accountId: signal.accountId, ip: signal.ip ?? null, ref: signal.ref ?? null };
      checkEvent(event);
      const decision = combine([{ rule: signal.signal, action: 'review', score: ACTION_SCORE.review, message: signal.message.slice(0, FIELD_LENGTH_MAX) }], settings.ruleVersion());
      await recordDecision(db, event, decision);
      if (onAlert !== null) await onAlert(event, decision);
      return decision;
    },
    async pruneCounters(limit = 10_000) {
      const nowSec = Math.floor(clock().getTime() / 1000);
      // Day buckets (a customer's spending history) are kept HISTORY_DAYS_MAX days, everything else two.
      const deleted = await db.pool.query(
        `delete from risk_counters where ctid = any(array(select ctid from risk_counters
           where bucket < $1 and (key not like $3 or bucket < $4) limit $2))`, [nowSec - 2 * 86_400, limit, `%|${BUCKET.day}`, nowSec - (HISTORY_DAYS_MAX + 1) * 86_400]);
      return deleted.rowCount ?? 0;
    },
  };
}

/** Adds to the counters a rule asked for once the facts were known (`RiskRule.countsAfter`); commit-asynchronous like the rest. */
async function countAfter(db: Database, needs: readonly CounterNeed[], nowMs: number, amount: bigint): Promise<void> {
  const nowSec = Math.floor(nowMs / 1000);
  const keys = needs.map((need) => `${need.key}|${need.bucketSec}`);
  await db.pool.query(
    `with quiet as (select set_config('synchronous_commit', 'off', true))
     insert into risk_counters (key, bucket, shard, count, amount_minor)
     select k, b, 0, 1, $3 from unnest($1::text[], $2::bigint[]) as t(k, b) cross join quiet
     on conflict (key, bucket, shard) do update set count = risk_counters.count + 1, amount_minor = risk_counters.amount_minor + excluded.amount_minor`,
    [keys, needs.map((need) => bucketOf(nowSec, need.bucketSec)), amount.toString()]);
}

function checkEvent(event: RiskEvent): void {
  assert((RISK_EVENT_KINDS as readonly string[]).includes(event.kind), `risk event kind ${event.kind}`);
  assert(event.balanceMinor === undefined || event.balanceMinor === null || event.kind === 'payment', 'only a payment carries a balance');
  for (const field of [event.accountId, event.deviceId, event.ip, event.cardRef, event.storeId, event.merchantId, event.ref]) {
    assert(field === null || field === undefined || (field.length > 0 && field.length <= FIELD_LENGTH_MAX), 'risk event fields are 1 to 200 characters');
  }
  assert(event.amountMinor === undefined || event.amountMinor === null || event.amountMinor >= 0n, 'a risk event amount is not negative');
}

/**
 * The most severe action wins. A challenge asks for a strong confirmation; a payment the customer proved with
 * the passkey they pay with already carries the strongest one, so its challenge is met: allowed, the reasons
 * kept (marked) for the record. Review and deny stand whatever the proof.
 */
function combine(reasons: readonly RiskReason[], ruleVersion: number, event: Pick<RiskEvent, 'passkeyProved'> = {}): RiskDecision {
  let decision: RiskDecisionKind = 'allow';
  for (const reason of reasons) if (SEVERITY[reason.action] > SEVERITY[decision]) decision = reason.action;
  if (decision === 'challenge' && event.passkeyProved === true) {
    const met = reasons.map((reason) => ({ ...reason, message: `${reason.message} — met: confirmed with the customer's passkey`.slice(0, FIELD_LENGTH_MAX) }));
    return { id: uuidv7(), decision: 'allow', score: Math.min(100, met.reduce((sum, reason) => sum + reason.score, 0)), reasons: met, ruleVersion };
  }
  const score = Math.min(100, reasons.reduce((sum, reason) => sum + reason.score, 0));
  return { id: uuidv7(), decision, score, reasons, ruleVersion };
}

interface FactRow { t: 'c' | 'l' | 's'; key: string | null; n: bigint; amount: bigint; inserted: boolean | null; first_seen_ms: number | null; extra: { here?: [number, number] | null; usual?: Array<[number, number]> | null; other?: number | null } | null }

async function gatherFacts(db: Database, event: RiskEvent, needs: readonly CounterNeed[], counted: readonly CountedLink[], nowMs: number, settings: RiskSettings): Promise<Facts> {
  const nowSec = Math.floor(nowMs / 1000);
  const amount = event.amountMinor ?? 0n;
  const increments = new Map<string, { key: string; bucket: number }>();
  const reads = new Map<string, { key: string; since: number }>();
  for (const need of needs) {
    const key = `${need.key}|${need.bucketSec}`;
    if (need.increment) increments.set(key, { key, bucket: bucketOf(nowSec, need.bucketSec) });
    reads.set(`${key}|${need.windowSec}`, { key, since: windowStart(nowSec, need.bucketSec, need.windowSec) });
  }
  const links = linksOf(event);
  const storeId = event.accountId !== null && event.storeId && isUuid(event.storeId) ? event.storeId : null;
  const readList = [...reads.values()];
  const incList = [...increments.values()];
  // Named (prepared once per connection): the statement is long and was re-planned on every call (~1 ms of
  // planning against ~0.5 ms of execution, twice per payment; measured in the payment-path profile).
  const result = await db.pool.query<FactRow>({ name: 'risk_facts', text: FACTS_SQL, values: [
    incList.map((i) => i.key), incList.map((i) => i.bucket), incList.map((i) => (SHARDED_PREFIXES.some((p) => i.key.startsWith(p)) ? Math.floor(Math.random() * SHARDS) : 0)),
    incList.map(() => amount.toString()), readList.map((r) => r.key), readList.map((r) => r.since),
    event.accountId, links.map((l) => l.kind), links.map((l) => l.key), storeId, new Date(nowMs), counted,
  ] });
  const sums = new Map<string, CounterValue>();
  const linkFacts = new Map<string, LinkFact>();
  let store: StoreFact | null = null;
  for (const row of result.rows) {
    if (row.t === 'c') {
      const read = readList[Number(row.key) - 1];
      assert(read !== undefined, 'a counter row matches a read');
      sums.set(`${read.key}|${read.since}`, { count: row.n, amountMinor: row.amount });
    } else if (row.t === 'l' && row.key !== null) {
      const otherFirstSeenMs = row.key === 'device' ? (row.extra?.other ?? null) : undefined;
      linkFacts.set(row.key, { accounts: Number(row.n) + 1, firstSeenMs: row.inserted === true ? nowMs : (row.first_seen_ms ?? nowMs), ...(otherFirstSeenMs === undefined ? {} : { otherFirstSeenMs }) });
    } else if (row.t === 's' && row.extra !== null) {
      store = { here: row.extra.here === null || row.extra.here === undefined ? null : point(row.extra.here), usual: (row.extra.usual ?? []).map(point) };
    }
  }
  return {
    nowMs,
    counter(need) {
      const key = `${need.key}|${need.bucketSec}`;
      const stored = sums.get(`${key}|${windowStart(nowSec, need.bucketSec, need.windowSec)}`);
      assert(stored !== undefined, `counter ${need.key} was read`);
      return need.increment ? { count: stored.count + 1n, amountMinor: stored.amountMinor + amount } : stored;
    },
    device: linkFacts.get('device') ?? null,
    card: linkFacts.get('card') ?? null,
    network: linkFacts.get('network') ?? null,
    storeLink: linkFacts.get('store') ?? null,
    store,
    lists: settings.lists(),
  };
}

function point([lat, lon]: [number, number]): { lat: number; lon: number } {
  return { lat, lon };
}

function linksOf(event: RiskEvent): Array<{ kind: string; key: string }> {
  if (event.accountId === null) return [];
  const network = networkOf(event.ip);
  return [
    ...(event.deviceId ? [{ kind: 'device', key: event.deviceId }] : []),
    ...(event.cardRef ? [{ kind: 'card', key: event.cardRef }] : []),
    ...(network === null ? [] : [{ kind: 'network', key: network }]),
    ...(event.storeId ? [{ kind: 'store', key: event.storeId }] : []),
  ];
}

// Each window sum is a LATERAL index lookup by its key, and a usual store one by its id (assess-batch.ts).
// Every time in it is $11, the engine's clock (src/platform/clock.ts): first and last sightings and the
// windows they are judged by come from the clock the counters' buckets come from, never the database's now().
// Data-modifying CTEs run exactly once whether or not the SELECT reads them; the SELECT sees the
// table as it was before them, so the engine adds this event's own increment in memory.
// Counters are commit-asynchronous (synchronous_commit off for this one statement's transaction): they
// hold no money, and a crash loses at most the last fraction of a second of counts, where waiting for
// a WAL flush on every payment would double the engine's cost. The ledger's own commits stay durable.
const FACTS_SQL = `
with quiet as (select set_config('synchronous_commit', 'off', true) as setting),
inc as (
  insert into risk_counters (key, bucket, shard, count, amount_minor)
  select k, b, s, 1, a from unnest($1::text[], $2::bigint[], $3::smallint[], $4::bigint[]) as t(k, b, s, a)
  on conflict (key, bucket, shard) do update set count = risk_counters.count + 1, amount_minor = risk_counters.amount_minor + excluded.amount_minor
  returning 1
), lnk as (
  insert into risk_links (kind, key, account_id, first_seen, last_seen)
  select lk, lv, $7, $11::timestamptz, $11::timestamptz from unnest($8::text[], $9::text[]) as l(lk, lv)
  on conflict (kind, key, account_id) do update set last_seen = $11::timestamptz
  returning kind, key, (xmax = 0) as inserted, first_seen
)
select 'c' as t, w.i::text as key, c.n, c.amount, null::boolean as inserted, null::float8 as first_seen_ms, null::json as extra
  from unnest($5::text[], $6::bigint[]) with ordinality as w(key, since, i)
  cross join lateral (select coalesce(sum(c.count), 0)::bigint as n, coalesce(sum(c.amount_minor), 0)::bigint as amount
                        from risk_counters c where c.key = w.key and c.bucket >= w.since) c
  cross join quiet
union all
select 'l', lnk.kind, case when lnk.kind <> all($12::text[]) then 0 else (select count(*) from risk_links r where r.kind = lnk.kind and r.key = lnk.key and r.account_id <> $7
         and r.last_seen > $11::timestamptz - case when lnk.kind = 'network' then interval '1 day' else interval '30 days' end) end::bigint,
       0, lnk.inserted, (extract(epoch from lnk.first_seen) * 1000)::float8,
       -- For a device, the account's oldest other device (risk_links_by_account: the account's few rows).
       case when lnk.kind = 'device' then json_build_object('other', (select (extract(epoch from min(r.first_seen)) * 1000)::float8
         from risk_links r where r.account_id = $7 and r.kind = 'device' and r.key <> lnk.key)) end
  -- A store is counted for this account only (whether it is new to the customer): a busy store's other
  -- customers are never counted.
  from lnk
union all
select 's', null, 0, 0, null, null, json_build_object(
         'here', (select json_build_array(latitude, longitude) from stores where id = $10::uuid and latitude is not null),
         'usual', (select json_agg(json_build_array(s.latitude, s.longitude)) from
                    (select key from risk_links where kind = 'store' and account_id = $7 and key <> $10::text and last_seen > $11::timestamptz - interval '90 days' limit 50) u
                    cross join lateral (select latitude, longitude from stores s where s.id = ${STORE_ID_OF_KEY} and s.latitude is not null) s))
  where $10::uuid is not null`;

/**
 * An allow is recorded commit-asynchronously (see FACTS_SQL); anything else is durable at once, as the
 * case it opens will be.
 */
async function recordDecision(db: Database, event: RiskEvent, decision: RiskDecision): Promise<void> {
  await db.pool.query({
    name: 'risk_record_decision',
    text: `insert into risk_events (id, kind, account_id, decision, score, reasons, rule_version, device_id, ip, country, card_ref, store_id, amount_minor, event_ref)
     select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 from (select set_config('synchronous_commit', $15, true)) as durability`,
    values: [...decisionValues(event, decision), decision.decision === 'allow' ? 'off' : 'on'],
  });
}

/** One risk_events row's values, in its column order (id … event_ref). */
function decisionValues(event: RiskEvent, decision: RiskDecision): Array<string | number | null> {
  return [decision.id, event.kind, event.accountId, decision.decision, decision.score, JSON.stringify(decision.reasons), decision.ruleVersion,
    event.deviceId ?? null, event.ip ?? null, event.country?.toUpperCase().slice(0, 2) ?? null, event.cardRef ?? null, event.storeId ?? null,
    event.amountMinor?.toString() ?? null, event.ref ?? null];
}

/**
 * `assessBatch(client, events)`: the risk engine for a whole batch of events at once, inside the caller's
 * transaction (the payments' group commit, issue 11). Same rules, same reasons, same decisions as `assess`
 * called once per event in the batch's order, at a fixed cost whatever the batch's size:
 *
 * 1. ONE statement upserts every counter increment of the batch (summed per key, bucket and shard), upserts
 *    every link (one row per kind, key and account), and reads the window sums, the links as they were, the
 *    accounts sharing a device or card, an account's other devices and the stores' locations, keyed by index.
 * 2. Node evaluates the rules per event, in order, adding to each counter and link what the events before it
 *    in the batch added (in memory), exactly as if they had been assessed one after the other: two payments of
 *    one customer in one batch see each other, so a thief gains nothing by landing N payments in one batch.
 * 3. `record(client)`: ONE statement adds the counters rules count after the decision (`countsAfter`) and
 *    inserts every decision into `risk_events`, in the same transaction.
 * 4. `afterCommit()`: alerts for the decisions that were not allows (cases), once the batch is durable. One event's
 *    failed alert never stops another's: the answer is, per event, the error its alert threw or null.
 *
 * Everything is written in the caller's transaction: if it rolls back, nothing of the batch was counted or
 * recorded, and the caller assesses each event again on its own (`assess`). Counters of a busy store or network
 * are spread over shards per batch (the next shard for every batch), so the two batches a process writes at
 * once do not wait on each other's store counter rows.
 */
import { assert } from '../platform/assert.ts';
import type { Queryable } from '../platform/db/database.ts';
import { isUuid } from '../platform/ids.ts';
import { bucketOf, SHARDED_PREFIXES, SHARDS, windowStart } from './keys.ts';
import type { RiskSettings } from './settings.ts';
import type { CountedLink, CounterNeed, CounterValue, Facts, LinkFact, RiskDecision, RiskEvent, RiskReason, StoreFact } from './types.ts';

/** What `assessBatch` answers: one decision per event, in order; `record` and `afterCommit` as the file says. */
export interface RiskBatch {
  readonly decisions: readonly RiskDecision[];
  record(client: Queryable): Promise<void>;
  afterCommit(): Promise<unknown[]>;
}

/** The engine's own pieces the batch reuses (engine.ts), so both paths decide with the same code. */
export interface BatchEngineParts {
  readonly settings: RiskSettings;
  readonly actionScore: Readonly<Record<'challenge' | 'review' | 'deny', number>>;
  checkEvent(event: RiskEvent): void;
  combine(reasons: readonly RiskReason[], ruleVersion: number, event: RiskEvent): RiskDecision;
  decisionValues(event: RiskEvent, decision: RiskDecision): Array<string | number | null>;
  alert(event: RiskEvent, decision: RiskDecision): Promise<void>;
  /** The device, card, network and store an event is seen with. */
  linksOf(event: RiskEvent): Array<{ kind: string; key: string }>;
}

/** How long a link counts towards "accounts sharing it" (as FACTS_SQL in engine.ts) and a store as "usual". */
const LINK_WINDOW_MS = { network: 86_400_000, other: 30 * 86_400_000 } as const;
const USUAL_STORE_WINDOW_MS = 90 * 86_400_000;

interface Planned {
  readonly event: RiskEvent;
  readonly active: ReadonlyArray<{ rule: RiskSettings['rules'][number]; setting: ReturnType<RiskSettings['settingOf']> }>;
  readonly needs: readonly CounterNeed[];
  readonly counted: readonly CountedLink[];
  /** Distinct counter keys (`key|bucketSec`) this event adds to before its decision. */
  readonly increments: readonly string[];
  readonly links: ReadonlyArray<{ kind: string; key: string }>;
  readonly storeId: string | null;
}

interface OldLink { exists: boolean; firstSeenMs: number | null; lastSeenMs: number | null; others: number; otherDeviceFirstSeenMs: number | null }

const tripleOf = (kind: string, key: string, account: string): string => `${kind}\u0000${key}\u0000${account}`;
const pairOf = (account: string, storeId: string): string => `${account}\u0000${storeId}`;

let nextShard = 0;

export async function assessBatch(parts: BatchEngineParts, client: Queryable, events: readonly RiskEvent[], nowMs: number): Promise<RiskBatch> {
  for (const event of events) parts.checkEvent(event);
  const nowSec = Math.floor(nowMs / 1000);
  const planned = events.map((event) => plan(parts, event));
  const shard = nextShard;
  nextShard = (nextShard + 1) % SHARDS;
  const facts = await readBatchFacts(client, planned, nowMs, shard);
  // What the events before the current one added, per counter key (`key|bucketSec`): all in the bucket of now.
  const added = new Map<string, CounterValue>();
  const addTo = (key: string, amount: bigint): void => {
    const before = added.get(key) ?? { count: 0n, amountMinor: 0n };
    added.set(key, { count: before.count + 1n, amountMinor: before.amountMinor + amount });
  };
  const after = new Map<string, { bucket: number; count: bigint; amount: bigint }>();
  const decisions: RiskDecision[] = [];
  planned.forEach((item, index) => {
    const amount = item.event.amountMinor ?? 0n;
    const view = factsOf(parts.settings, item, index, planned, facts, added, nowMs);
    const reasons: RiskReason[] = [];
    const countsAfter = new Map<string, CounterNeed>();
    for (const { rule, setting } of item.active) {
      const hit = rule.evaluate(item.event, view, setting.params);
      if (hit !== null) reasons.push({ rule: rule.id, action: setting.action, score: parts.actionScore[setting.action], ...hit });
      for (const need of rule.countsAfter?.(item.event, view, setting.params) ?? []) countsAfter.set(`${need.key}|${need.bucketSec}`, need);
    }
    decisions.push(parts.combine(reasons, parts.settings.ruleVersion(), item.event));
    for (const key of item.increments) addTo(key, amount);
    for (const [key, need] of countsAfter) {
      addTo(key, amount);
      const sum = after.get(key) ?? { bucket: bucketOf(nowSec, need.bucketSec), count: 0n, amount: 0n };
      after.set(key, { bucket: sum.bucket, count: sum.count + 1n, amount: sum.amount + amount });
    }
  });
  return {
    decisions,
    async record(target) {
      const rows = planned.map((item, index) => parts.decisionValues(item.event, decisions[index] as RiskDecision));
      const column = (at: number) => rows.map((row) => row[at] ?? null);
      const counts = [...after.entries()];
      await target.query({
        name: 'risk_record_batch',
        text: `with after as (
                 insert into risk_counters (key, bucket, shard, count, amount_minor)
                 select k, b, 0, n, a from unnest($15::text[], $16::bigint[], $17::bigint[], $18::bigint[]) as t(k, b, n, a)
                 on conflict (key, bucket, shard) do update set count = risk_counters.count + excluded.count, amount_minor = risk_counters.amount_minor + excluded.amount_minor
               )
               insert into risk_events (id, kind, account_id, decision, score, reasons, rule_version, device_id, ip, country, card_ref, store_id, amount_minor, event_ref)
               select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::int[], $8::text[], $9::text[], $10::text[],
                                    $11::text[], $12::text[], $13::bigint[], $14::text[])`,
        values: [...Array.from({ length: 14 }, (_, at) => column(at)),
          counts.map(([key]) => key), counts.map(([, c]) => c.bucket), counts.map(([, c]) => c.count.toString()), counts.map(([, c]) => c.amount.toString())],
      });
    },
    async afterCommit() {
      const failures: unknown[] = [];
      for (const [index, decision] of decisions.entries()) {
        failures.push(decision.decision === 'allow' ? null : await parts.alert((planned[index] as Planned).event, decision).then(() => null, (error: unknown) => error ?? new Error('alert failed')));
      }
      return failures;
    },
  };
}

function plan(parts: BatchEngineParts, event: RiskEvent): Planned {
  const { settings } = parts;
  const active = settings.rules.filter((rule) => rule.kinds.includes(event.kind)).map((rule) => ({ rule, setting: settings.settingOf(rule) }))
    .filter(({ setting }) => setting.enabled);
  const needs = active.flatMap(({ rule, setting }) => rule.needs(event, setting.params));
  const counted = [...new Set(active.flatMap(({ rule }) => rule.countsAccountsOf ?? []))];
  const increments = [...new Set(needs.filter((need) => need.increment).map((need) => `${need.key}|${need.bucketSec}`))];
  const storeId = event.accountId !== null && event.storeId && isUuid(event.storeId) ? event.storeId : null;
  return { event, active, needs, counted, increments, links: parts.linksOf(event), storeId };
}

interface BatchFacts {
  /** Window sums as the table held them before the batch: `key|bucketSec|since` → value. */
  readonly sums: ReadonlyMap<string, CounterValue>;
  /** Each (kind, key, account) link as it was before the batch. */
  readonly links: ReadonlyMap<string, OldLink>;
  /** Each (account, store): where the store is and the customer's other stores, before the batch. */
  readonly stores: ReadonlyMap<string, StoreFact>;
}

interface BatchFactRow { t: 'c' | 'l' | 's'; i: number; n: bigint; amount: bigint; first_seen_ms: number | null; last_seen_ms: number | null; extra: { here?: [number, number] | null; usual?: Array<[number, number]> | null; other?: number | null } | null }

async function readBatchFacts(client: Queryable, planned: readonly Planned[], nowMs: number, shard: number): Promise<BatchFacts> {
  const nowSec = Math.floor(nowMs / 1000);
  const increments = new Map<string, { key: string; bucket: number; count: bigint; amount: bigint }>();
  const reads = new Map<string, { key: string; since: number }>();
  const triples = new Map<string, { kind: string; key: string; account: string; counted: boolean }>();
  const storePairs = new Map<string, { account: string; storeId: string }>();
  for (const item of planned) {
    const amount = item.event.amountMinor ?? 0n;
    for (const need of item.needs) {
      const key = `${need.key}|${need.bucketSec}`;
      reads.set(`${key}|${windowStart(nowSec, need.bucketSec, need.windowSec)}`, { key, since: windowStart(nowSec, need.bucketSec, need.windowSec) });
      if (!need.increment) continue;
      const at = increments.get(key) ?? { key, bucket: bucketOf(nowSec, need.bucketSec), count: 0n, amount: 0n };
      increments.set(key, at);
    }
    for (const key of item.increments) {
      const at = increments.get(key);
      assert(at !== undefined, 'an increment was planned');
      increments.set(key, { ...at, count: at.count + 1n, amount: at.amount + amount });
    }
    const account = item.event.accountId;
    if (account === null) continue;
    for (const link of item.links) {
      const id = tripleOf(link.kind, link.key, account);
      const counted = (item.counted as readonly string[]).includes(link.kind) || (triples.get(id)?.counted ?? false);
      triples.set(id, { kind: link.kind, key: link.key, account, counted });
    }
    if (item.storeId !== null) storePairs.set(pairOf(account, item.storeId), { account, storeId: item.storeId });
  }
  // In key order, so two batches upserting overlapping counters lock them in one order.
  const incList = [...increments.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const readList = [...reads.values()];
  const tripleList = [...triples.values()].sort((x, y) => (tripleOf(x.kind, x.key, x.account) < tripleOf(y.kind, y.key, y.account) ? -1 : 1));
  const pairList = [...storePairs.values()];
  const result = await client.query<BatchFactRow>({ name: 'risk_batch_facts', text: BATCH_FACTS_SQL, values: [
    incList.map((i) => i.key), incList.map((i) => i.bucket), incList.map((i) => (SHARDED_PREFIXES.some((p) => i.key.startsWith(p)) ? shard : 0)),
    incList.map((i) => i.count.toString()), incList.map((i) => i.amount.toString()),
    readList.map((r) => r.key), readList.map((r) => r.since),
    tripleList.map((l) => l.kind), tripleList.map((l) => l.key), tripleList.map((l) => l.account), tripleList.map((l) => l.counted),
    new Date(nowMs), pairList.map((p) => p.account), pairList.map((p) => p.storeId),
  ] });
  const sums = new Map<string, CounterValue>();
  const links = new Map<string, OldLink>();
  const stores = new Map<string, StoreFact>();
  for (const row of result.rows) {
    if (row.t === 'c') {
      const read = readList[row.i - 1];
      assert(read !== undefined, 'a counter row matches a read');
      sums.set(`${read.key}|${read.since}`, { count: row.n, amountMinor: row.amount });
    } else if (row.t === 'l') {
      const link = tripleList[row.i - 1];
      assert(link !== undefined, 'a link row matches a link');
      links.set(tripleOf(link.kind, link.key, link.account), {
        exists: row.first_seen_ms !== null, firstSeenMs: row.first_seen_ms, lastSeenMs: row.last_seen_ms, others: Number(row.n), otherDeviceFirstSeenMs: row.extra?.other ?? null,
      });
    } else {
      const pair = pairList[row.i - 1];
      assert(pair !== undefined, 'a store row matches a store');
      stores.set(pairOf(pair.account, pair.storeId), { here: row.extra?.here == null ? null : point(row.extra.here), usual: (row.extra?.usual ?? []).map(point) });
    }
  }
  return { sums, links, stores };
}

function point([lat, lon]: [number, number]): { lat: number; lon: number } {
  return { lat, lon };
}

/**
 * The facts event `index` would have seen had the batch's events been assessed one after the other: the
 * table before the batch, plus what the events before it in the batch added.
 */
function factsOf(settings: RiskSettings, item: Planned, index: number, planned: readonly Planned[], facts: BatchFacts, added: ReadonlyMap<string, CounterValue>, nowMs: number): Facts {
  const nowSec = Math.floor(nowMs / 1000);
  const amount = item.event.amountMinor ?? 0n;
  const account = item.event.accountId;
  const earlier = planned.slice(0, index);
  const linkFact = (kind: string): LinkFact | null => {
    const link = item.links.find((l) => l.kind === kind);
    if (link === undefined || account === null) return null;
    const old = facts.links.get(tripleOf(kind, link.key, account));
    assert(old !== undefined, `link ${kind} was read`);
    const firstSeenMs = old.exists ? (old.firstSeenMs ?? nowMs) : nowMs;
    let accounts = 1;
    if ((item.counted as readonly string[]).includes(kind)) {
      // Other accounts the batch linked before this event that the table did not count yet.
      const windowMs = kind === 'network' ? LINK_WINDOW_MS.network : LINK_WINDOW_MS.other;
      const newcomers = new Set(earlier.filter((other) => other.event.accountId !== null && other.event.accountId !== account && other.links.some((l) => l.kind === kind && l.key === link.key))
        .map((other) => other.event.accountId as string)
        .filter((other) => { const seen = facts.links.get(tripleOf(kind, link.key, other)); return seen?.lastSeenMs == null || seen.lastSeenMs <= nowMs - windowMs; }));
      accounts = old.others + newcomers.size + 1;
    }
    if (kind !== 'device') return { accounts, firstSeenMs };
    // The account's oldest other device: a device another event of the batch linked to it just now counts.
    const newOther = earlier.some((other) => other.event.accountId === account && other.links.some((l) => l.kind === 'device' && l.key !== link.key
      && !(facts.links.get(tripleOf('device', l.key, account))?.exists ?? false)));
    const otherFirstSeenMs = newOther ? Math.min(old.otherDeviceFirstSeenMs ?? nowMs, nowMs) : old.otherDeviceFirstSeenMs;
    return { accounts, firstSeenMs, otherFirstSeenMs };
  };
  let store: StoreFact | null = null;
  if (item.storeId !== null && account !== null) {
    const own = facts.stores.get(pairOf(account, item.storeId));
    assert(own !== undefined, 'the store was read');
    // Stores an earlier event of this customer in the batch made "usual" (new, or not seen within the window).
    const usual = [...own.usual];
    const counted = new Set<string>();
    for (const other of earlier) {
      if (other.event.accountId !== account || other.storeId === null || other.storeId === item.storeId || counted.has(other.storeId)) continue;
      const seen = facts.links.get(tripleOf('store', other.storeId, account));
      const here = facts.stores.get(pairOf(account, other.storeId))?.here ?? null;
      counted.add(other.storeId);
      if (here !== null && (seen?.lastSeenMs == null || seen.lastSeenMs <= nowMs - USUAL_STORE_WINDOW_MS)) usual.push(here);
    }
    store = { here: own.here, usual };
  }
  return {
    nowMs,
    counter(need) {
      const key = `${need.key}|${need.bucketSec}`;
      const stored = facts.sums.get(`${key}|${windowStart(nowSec, need.bucketSec, need.windowSec)}`);
      assert(stored !== undefined, `counter ${need.key} was read`);
      const before = added.get(key) ?? { count: 0n, amountMinor: 0n };
      const own = need.increment ? { count: 1n, amountMinor: amount } : { count: 0n, amountMinor: 0n };
      return { count: stored.count + before.count + own.count, amountMinor: stored.amountMinor + before.amountMinor + own.amountMinor };
    },
    device: linkFact('device'),
    card: linkFact('card'),
    network: linkFact('network'),
    storeLink: linkFact('store'),
    store,
    lists: settings.lists(),
  };
}

/**
 * A store link's key as the store's id, for a lookup by primary key (comparing `s.id::text` scanned every store
 * per customer); a key that is no uuid (none is written today) matches no store instead of failing the statement.
 */
export const STORE_ID_OF_KEY = `case when u.key ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then u.key::uuid end`;

// Every time in it is $12, the engine's clock (as FACTS_SQL in engine.ts). Each window sum, link and store is
// a LATERAL lookup by its key (an index range scan per read), so a batch's reads cost what its keys cost,
// whatever the tables' size and whatever plan PostgreSQL would otherwise pick for a join of the arrays. The data-modifying CTEs run once
// whether or not the SELECT reads them, and the SELECT sees the tables as they were before them: the batch's
// own additions are added in memory, event by event (`factsOf`). Not commit-asynchronous: it runs in the
// caller's transaction, which moves money and is durable anyway (one fsync for the whole batch).
const BATCH_FACTS_SQL = `
with inc as (
  insert into risk_counters (key, bucket, shard, count, amount_minor)
  select k, b, s, n, a from unnest($1::text[], $2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[]) as t(k, b, s, n, a)
  on conflict (key, bucket, shard) do update set count = risk_counters.count + excluded.count, amount_minor = risk_counters.amount_minor + excluded.amount_minor
), lnk as (
  insert into risk_links (kind, key, account_id, first_seen, last_seen)
  select lk, lv, la, $12::timestamptz, $12::timestamptz from unnest($8::text[], $9::text[], $10::text[]) as l(lk, lv, la)
  on conflict (kind, key, account_id) do update set last_seen = $12::timestamptz
)
select 'c' as t, w.i::int as i, c.n, c.amount, null::float8 as first_seen_ms, null::float8 as last_seen_ms, null::json as extra
  from unnest($6::text[], $7::bigint[]) with ordinality as w(key, since, i)
  cross join lateral (select coalesce(sum(c.count), 0)::bigint as n, coalesce(sum(c.amount_minor), 0)::bigint as amount
                        from risk_counters c where c.key = w.key and c.bucket >= w.since) c
union all
select 'l', l.i::int,
       case when not l.counted then 0 else (select count(*) from risk_links o where o.kind = l.kind and o.key = l.key and o.account_id <> l.account
         and o.last_seen > $12::timestamptz - case when l.kind = 'network' then interval '1 day' else interval '30 days' end) end::bigint,
       0, (extract(epoch from r.first_seen) * 1000)::float8, (extract(epoch from r.last_seen) * 1000)::float8,
       case when l.kind = 'device' then json_build_object('other', (select (extract(epoch from min(d.first_seen)) * 1000)::float8
         from risk_links d where d.account_id = l.account and d.kind = 'device' and d.key <> l.key)) end
  from unnest($8::text[], $9::text[], $10::text[], $11::boolean[]) with ordinality as l(kind, key, account, counted, i)
  left join lateral (select first_seen, last_seen from risk_links r where r.kind = l.kind and r.key = l.key and r.account_id = l.account) r on true
union all
select 's', p.i::int, 0, 0, null, null, json_build_object(
         'here', (select json_build_array(latitude, longitude) from stores where id = p.store_id and latitude is not null),
         'usual', (select json_agg(json_build_array(s.latitude, s.longitude)) from
                    (select key from risk_links where kind = 'store' and account_id = p.account and key <> p.store_id::text and last_seen > $12::timestamptz - interval '90 days' limit 50) u
                    cross join lateral (select latitude, longitude from stores s where s.id = ${STORE_ID_OF_KEY} and s.latitude is not null) s))
  from unnest($13::text[], $14::uuid[]) with ordinality as p(account, store_id, i)`;

/**
 * Scoring a batch of events on the caller's transaction (issue 11: the batched code mint). The same rules,
 * settings, decisions and reasons as `assess` (engine.ts), at a fixed cost whatever the batch's size:
 *
 *   const scored = await risk.batch.assess(client, events);   // one statement: counters, links, window sums
 *   await risk.batch.record(client, scored);                  // one statement: the decisions (and any countsAfter)
 *   … commit …
 *   const failures = await risk.batch.alert(scored);           // after the commit: non-allow decisions raise alerts
 *
 * Events are scored in order, each as if the ones before it in the batch had been assessed first: an event
 * sees the counters its predecessors incremented and the links they made (`BatchState`), so two mints of one
 * customer in one batch count twice, exactly as two mints one after the other. Counter increments are summed
 * per key before they are written (a key is written once per batch).
 *
 * Unlike `assess`, nothing here commits: the counters, links and decisions commit durably with the caller's
 * work, once per batch. Events with a store are not supported (no store facts): the code mint has none.
 */
import { assert } from '../platform/assert.ts';
import type { Clock } from '../platform/clock.ts';
import type { Queryable } from '../platform/db/database.ts';
import { uuidv7 } from '../platform/ids.ts';
import { ACTION_SCORE, type AlertHandler } from './engine.ts';
import { bucketOf, networkOf, SHARDED_PREFIXES, SHARDS, windowStart } from './keys.ts';
import type { RiskSettings } from './settings.ts';
import { RISK_EVENT_KINDS, SEVERITY, type CounterNeed, type CounterValue, type CountedLink, type Facts, type LinkFact, type RiskDecision, type RiskDecisionKind, type RiskEvent, type RiskReason } from './types.ts';

const FIELD_LENGTH_MAX = 200;
const LINK_KINDS = ['device', 'card', 'network'] as const;
type LinkKind = (typeof LINK_KINDS)[number];

/** One event of a batch with its decision, and what `record` must write for it. Opaque to callers but for `decision`. */
export interface ScoredEvent {
  readonly event: RiskEvent;
  readonly decision: RiskDecision;
  readonly countsAfter: readonly CounterNeed[];
}

export interface BatchRisk {
  /** Scores `events` in order on `client`'s transaction (one statement). Records nothing yet. */
  assess(client: Queryable, events: readonly RiskEvent[]): Promise<ScoredEvent[]>;
  /** Records the decisions (and the counters a rule adds after deciding) on `client`'s transaction, in one statement. */
  record(client: Queryable, scored: readonly ScoredEvent[]): Promise<void>;
  /**
   * After the caller's commit: raises an alert for every decision but allow, as `assess` does. One event's failed
   * alert never stops another's: the answer is, per event, the error its alert threw or null.
   */
  alert(scored: readonly ScoredEvent[]): Promise<Array<unknown>>;
}

export function createBatchRisk(settings: RiskSettings, onAlert: AlertHandler | null, clock: Clock): BatchRisk {
  return {
    async assess(client, events) {
      if (events.length === 0) return [];
      events.forEach(checkEvent);
      const nowMs = clock().getTime();
      const plans = events.map((event) => planOf(event, settings));
      const stored = await readFacts(client, plans, nowMs);
      const state = new BatchState(stored, nowMs);
      return plans.map((plan) => {
        const facts = state.factsFor(plan, settings);
        const reasons: RiskReason[] = [];
        const countsAfter: CounterNeed[] = [];
        for (const { rule, setting } of plan.active) {
          const hit = rule.evaluate(plan.event, facts, setting.params);
          if (hit !== null) reasons.push({ rule: rule.id, action: setting.action, score: ACTION_SCORE[setting.action], ...hit });
          countsAfter.push(...(rule.countsAfter?.(plan.event, facts, setting.params) ?? []));
        }
        state.applied(plan);
        return { event: plan.event, decision: combine(reasons, settings.ruleVersion()), countsAfter };
      });
    },
    async record(client, scored) {
      if (scored.length === 0) return;
      const rows = scored.map(({ event, decision }) => decisionValues(event, decision));
      const nowSec = Math.floor(clock().getTime() / 1000);
      const after = scored.flatMap(({ event, countsAfter }) => countsAfter.map((need) => ({ key: `${need.key}|${need.bucketSec}`, bucket: bucketOf(nowSec, need.bucketSec), amount: event.amountMinor ?? 0n })));
      await client.query({
        name: 'risk_batch_record',
        text: `with counted as (
                 insert into risk_counters (key, bucket, shard, count, amount_minor)
                 select k, b, 0, sum(1), sum(a) from unnest($15::text[], $16::bigint[], $17::bigint[]) as t(k, b, a) group by k, b
                 on conflict (key, bucket, shard) do update set count = risk_counters.count + excluded.count, amount_minor = risk_counters.amount_minor + excluded.amount_minor
                 returning 1)
               insert into risk_events (id, kind, account_id, decision, score, reasons, rule_version, device_id, ip, country, card_ref, store_id, amount_minor, event_ref)
               select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::int[], $8::text[], $9::text[], $10::text[],
                                    $11::text[], $12::text[], $13::bigint[], $14::text[])`,
        values: [...Array.from({ length: 14 }, (_, at) => rows.map((row) => row[at] ?? null)),
          after.map((a) => a.key), after.map((a) => a.bucket), after.map((a) => a.amount.toString())],
      });
    },
    async alert(scored) {
      return Promise.all(scored.map(async ({ event, decision }) => {
        if (decision.decision === 'allow' || onAlert === null) return null;
        try {
          await onAlert(event, decision);
          return null;
        } catch (error) {
          return error;
        }
      }));
    },
  };
}

interface Plan {
  readonly event: RiskEvent;
  readonly active: ReadonlyArray<{ rule: RiskSettings['rules'][number]; setting: ReturnType<RiskSettings['settingOf']> }>;
  readonly needs: readonly CounterNeed[];
  readonly counted: readonly CountedLink[];
  readonly links: ReadonlyArray<{ kind: LinkKind; key: string }>;
}

function planOf(event: RiskEvent, settings: RiskSettings): Plan {
  const active = settings.rules.filter((rule) => rule.kinds.includes(event.kind)).map((rule) => ({ rule, setting: settings.settingOf(rule) }))
    .filter(({ setting }) => setting.enabled);
  return {
    event,
    active,
    needs: active.flatMap(({ rule, setting }) => rule.needs(event, setting.params)),
    counted: [...new Set(active.flatMap(({ rule }) => rule.countsAccountsOf ?? []))],
    links: linksOf(event),
  };
}

/** What the database held before this batch: window sums per read, and per link row its state. */
interface StoredFacts {
  readonly sums: ReadonlyMap<string, CounterValue>;
  /** `${kind}|${key}|${account}` → the link as stored before (null: the batch inserted it). */
  readonly links: ReadonlyMap<string, { firstSeenMs: number | null; otherAccounts: number; otherDeviceFirstSeenMs: number | null }>;
}

interface FactRow { t: 'c' | 'l'; i: number; n: bigint; amount: bigint; inserted: boolean | null; first_seen_ms: number | null; other_ms: number | null }

/**
 * One statement for the whole batch: the counter increments summed per key, the link upserts (one per distinct
 * link), and every window sum and link fact as the table stood before them (data-modifying CTEs are not seen by
 * the SELECT; `BatchState` adds the batch's own increments and links in memory, in order).
 */
async function readFacts(client: Queryable, plans: readonly Plan[], nowMs: number): Promise<StoredFacts> {
  const nowSec = Math.floor(nowMs / 1000);
  const increments = new Map<string, { key: string; bucket: number; count: number; amount: bigint }>();
  const reads = new Map<string, { key: string; since: number }>();
  const links = new Map<string, { kind: LinkKind; key: string; account: string; counted: boolean }>();
  for (const plan of plans) {
    for (const need of plan.needs) {
      const key = `${need.key}|${need.bucketSec}`;
      if (need.increment) {
        const bucket = bucketOf(nowSec, need.bucketSec);
        const sum = increments.get(`${key}|${bucket}`) ?? { key, bucket, count: 0, amount: 0n };
        increments.set(`${key}|${bucket}`, { ...sum, count: sum.count + 1, amount: sum.amount + (plan.event.amountMinor ?? 0n) });
      }
      const since = windowStart(nowSec, need.bucketSec, need.windowSec);
      reads.set(`${key}|${since}`, { key, since });
    }
    for (const link of plan.links) {
      assert(plan.event.accountId !== null, 'links belong to an account');
      const id = `${link.kind}|${link.key}|${plan.event.accountId}`;
      const counted = (links.get(id)?.counted ?? false) || plan.counted.includes(link.kind);
      links.set(id, { ...link, account: plan.event.accountId, counted });
    }
  }
  // Rows are locked in one order (key, then bucket; kind, key, account), so that two batches in flight that share
  // keys wait for each other instead of deadlocking (withTransaction would retry a deadlock, the whole batch again).
  const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const incList = [...increments.values()].sort((a, b) => byText(a.key, b.key) || a.bucket - b.bucket);
  const readList = [...reads.values()];
  const linkList = [...links.values()].sort((a, b) => byText(a.kind, b.kind) || byText(a.key, b.key) || byText(a.account, b.account));
  const result = await client.query<FactRow>({ name: 'risk_batch_facts', text: BATCH_FACTS_SQL, values: [
    incList.map((i) => i.key), incList.map((i) => i.bucket),
    incList.map((i) => (SHARDED_PREFIXES.some((p) => i.key.startsWith(p)) ? Math.floor(Math.random() * SHARDS) : 0)),
    incList.map((i) => i.count), incList.map((i) => i.amount.toString()),
    readList.map((r) => r.key), readList.map((r) => r.since),
    linkList.map((l) => l.kind), linkList.map((l) => l.key), linkList.map((l) => l.account), linkList.map((l) => l.counted),
    new Date(nowMs),
  ] });
  const sums = new Map<string, CounterValue>();
  const stored = new Map<string, { firstSeenMs: number | null; otherAccounts: number; otherDeviceFirstSeenMs: number | null }>();
  for (const row of result.rows) {
    if (row.t === 'c') {
      const read = readList[row.i - 1];
      assert(read !== undefined, 'a counter row matches a read');
      sums.set(`${read.key}|${read.since}`, { count: row.n, amountMinor: row.amount });
    } else {
      const link = linkList[row.i - 1];
      assert(link !== undefined, 'a link row matches a link');
      stored.set(`${link.kind}|${link.key}|${link.account}`, { firstSeenMs: row.inserted === true ? null : row.first_seen_ms, otherAccounts: Number(row.n), otherDeviceFirstSeenMs: row.other_ms });
    }
  }
  return { sums, links: stored };
}

/** The batch as scored so far: what earlier events added to counters and links, on top of the stored facts. */
class BatchState {
  readonly #stored: StoredFacts;
  readonly #nowMs: number;
  readonly #nowSec: number;
  /** `${key}|${bucketSec}` → increments by earlier events of the batch. */
  readonly #added = new Map<string, { count: bigint; amount: bigint }>();
  /** Links made by earlier events of the batch (first seen now): `${kind}|${key}` → accounts, and account → devices. */
  readonly #newLinkAccounts = new Map<string, Set<string>>();
  readonly #seenLinks = new Set<string>();
  readonly #newDevicesOf = new Map<string, Set<string>>();

  constructor(stored: StoredFacts, nowMs: number) {
    this.#stored = stored;
    this.#nowMs = nowMs;
    this.#nowSec = Math.floor(nowMs / 1000);
  }

  factsFor(plan: Plan, settings: RiskSettings): Facts {
    const amount = plan.event.amountMinor ?? 0n;
    const link = (kind: LinkKind): LinkFact | null => this.#linkFact(plan, kind);
    return {
      nowMs: this.#nowMs,
      counter: (need) => {
        const key = `${need.key}|${need.bucketSec}`;
        const stored = this.#stored.sums.get(`${key}|${windowStart(this.#nowSec, need.bucketSec, need.windowSec)}`);
        assert(stored !== undefined, `counter ${need.key} was read`);
        // Earlier events of the batch incremented the current bucket, which every window includes.
        const added = this.#added.get(key) ?? { count: 0n, amount: 0n };
        const own = need.increment ? { count: 1n, amount } : { count: 0n, amount: 0n };
        return { count: stored.count + added.count + own.count, amountMinor: stored.amountMinor + added.amount + own.amount };
      },
      device: link('device'),
      card: link('card'),
      network: link('network'),
      storeLink: null,
      store: null,
      lists: settings.lists(),
    };
  }

  /** Called once an event is scored: the events after it see its increments and links. */
  applied(plan: Plan): void {
    const amount = plan.event.amountMinor ?? 0n;
    for (const need of plan.needs) {
      if (!need.increment) continue;
      const key = `${need.key}|${need.bucketSec}`;
      const added = this.#added.get(key) ?? { count: 0n, amount: 0n };
      this.#added.set(key, { count: added.count + 1n, amount: added.amount + amount });
    }
    const account = plan.event.accountId;
    if (account === null) return;
    for (const { kind, key } of plan.links) {
      const id = `${kind}|${key}|${account}`;
      if (this.#seenLinks.has(id) || this.#stored.links.get(id)?.firstSeenMs !== null) {
        this.#seenLinks.add(id);
        continue;
      }
      this.#seenLinks.add(id);
      const accounts = this.#newLinkAccounts.get(`${kind}|${key}`) ?? new Set<string>();
      this.#newLinkAccounts.set(`${kind}|${key}`, accounts.add(account));
      if (kind === 'device') this.#newDevicesOf.set(account, (this.#newDevicesOf.get(account) ?? new Set<string>()).add(key));
    }
  }

  #linkFact(plan: Plan, kind: LinkKind): LinkFact | null {
    const account = plan.event.accountId;
    const link = plan.links.find((l) => l.kind === kind);
    if (account === null || link === undefined) return null;
    const id = `${kind}|${link.key}|${account}`;
    const stored = this.#stored.links.get(id);
    assert(stored !== undefined, `link ${kind} was read`);
    // Stored before the batch, or made by an earlier event of it (first seen now), or new with this event.
    const firstSeenMs = stored.firstSeenMs ?? this.#nowMs;
    const counted = plan.counted.includes(kind);
    const othersInBatch = [...(this.#newLinkAccounts.get(`${kind}|${link.key}`) ?? [])].filter((other) => other !== account).length;
    const fact: LinkFact = { accounts: counted ? stored.otherAccounts + othersInBatch + 1 : 1, firstSeenMs };
    if (kind !== 'device') return fact;
    const otherNewDevice = [...(this.#newDevicesOf.get(account) ?? [])].some((device) => device !== link.key);
    const otherFirstSeenMs = otherNewDevice ? Math.min(stored.otherDeviceFirstSeenMs ?? this.#nowMs, this.#nowMs) : stored.otherDeviceFirstSeenMs;
    return { ...fact, otherFirstSeenMs };
  }
}

function linksOf(event: RiskEvent): Array<{ kind: LinkKind; key: string }> {
  if (event.accountId === null) return [];
  const network = networkOf(event.ip);
  return [
    ...(event.deviceId ? [{ kind: 'device' as const, key: event.deviceId }] : []),
    ...(event.cardRef ? [{ kind: 'card' as const, key: event.cardRef }] : []),
    ...(network === null ? [] : [{ kind: 'network' as const, key: network }]),
  ];
}

function checkEvent(event: RiskEvent): void {
  assert((RISK_EVENT_KINDS as readonly string[]).includes(event.kind), `risk event kind ${event.kind}`);
  assert(!event.storeId, 'a batch assessment has no store facts: events with a store are assessed one by one');
  assert(event.balanceMinor === undefined || event.balanceMinor === null || event.kind === 'payment', 'only a payment carries a balance');
  for (const field of [event.accountId, event.deviceId, event.ip, event.cardRef, event.merchantId, event.ref]) {
    assert(field === null || field === undefined || (field.length > 0 && field.length <= FIELD_LENGTH_MAX), 'risk event fields are 1 to 200 characters');
  }
  assert(event.amountMinor === undefined || event.amountMinor === null || event.amountMinor >= 0n, 'a risk event amount is not negative');
}

/** As engine.ts: the most severe action among the reasons wins; the score is their capped sum. */
function combine(reasons: readonly RiskReason[], ruleVersion: number): RiskDecision {
  let decision: RiskDecisionKind = 'allow';
  for (const reason of reasons) if (SEVERITY[reason.action] > SEVERITY[decision]) decision = reason.action;
  return { id: uuidv7(), decision, score: Math.min(100, reasons.reduce((sum, reason) => sum + reason.score, 0)), reasons, ruleVersion };
}

/** One risk_events row's values, in the column order of engine.ts's inserts. */
function decisionValues(event: RiskEvent, decision: RiskDecision): Array<string | number | null> {
  return [decision.id, event.kind, event.accountId, decision.decision, decision.score, JSON.stringify(decision.reasons), decision.ruleVersion,
    event.deviceId ?? null, event.ip ?? null, event.country?.toUpperCase().slice(0, 2) ?? null, event.cardRef ?? null, event.storeId ?? null,
    event.amountMinor?.toString() ?? null, event.ref ?? null];
}

// $12 is the engine's clock, as in engine.ts's FACTS_SQL: link sightings and their windows never use the database's now().
// A link's other accounts are counted only where an event of the batch has a rule that reads them ($11).
const BATCH_FACTS_SQL = `
with inc as (
  insert into risk_counters (key, bucket, shard, count, amount_minor)
  select k, b, s, n, a from unnest($1::text[], $2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[]) as t(k, b, s, n, a)
  on conflict (key, bucket, shard) do update set count = risk_counters.count + excluded.count, amount_minor = risk_counters.amount_minor + excluded.amount_minor
  returning 1
), wanted as (
  select * from unnest($8::text[], $9::text[], $10::text[], $11::boolean[]) with ordinality as l(kind, key, account_id, counted, i)
), lnk as (
  insert into risk_links (kind, key, account_id, first_seen, last_seen)
  select kind, key, account_id, $12::timestamptz, $12::timestamptz from wanted
  on conflict (kind, key, account_id) do update set last_seen = $12::timestamptz
  returning kind, key, account_id, (xmax = 0) as inserted, first_seen
)
select 'c' as t, w.i::int as i, coalesce(sum(c.count), 0)::bigint as n, coalesce(sum(c.amount_minor), 0)::bigint as amount,
       null::boolean as inserted, null::float8 as first_seen_ms, null::float8 as other_ms
  from unnest($6::text[], $7::bigint[]) with ordinality as w(key, since, i)
  left join risk_counters c on c.key = w.key and c.bucket >= w.since
  group by w.i
union all
select 'l', w.i::int,
       case when not w.counted then 0 else (select count(*) from risk_links r where r.kind = w.kind and r.key = w.key and r.account_id <> w.account_id
         and r.last_seen > $12::timestamptz - case when w.kind = 'network' then interval '1 day' else interval '30 days' end) end::bigint,
       0, lnk.inserted, (extract(epoch from lnk.first_seen) * 1000)::float8,
       case when w.kind = 'device' then (select (extract(epoch from min(r.first_seen)) * 1000)::float8
         from risk_links r where r.account_id = w.account_id and r.kind = 'device' and r.key <> w.key) end
  from wanted w join lnk on lnk.kind = w.kind and lnk.key = w.key and lnk.account_id = w.account_id`;

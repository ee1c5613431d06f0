/**
 * The risk engine's vocabulary. An event is scored before it happens; each rule that fires adds a
 * reason; the most severe action wins (allow < challenge < review < deny).
 */
import type { ParamDescription } from './params.ts';
export const RISK_EVENT_KINDS = ['sign_in', 'recovery', 'social_link', 'funding_source_add', 'top_up', 'payment_code_mint', 'payment', 'security_signal', 'credential_change', 'send', 'withdrawal'] as const;
export type RiskEventKind = (typeof RISK_EVENT_KINDS)[number];

export type RiskDecisionKind = 'allow' | 'challenge' | 'review' | 'deny';
export type RiskAction = Exclude<RiskDecisionKind, 'allow'>;
export const SEVERITY: Readonly<Record<RiskDecisionKind, number>> = { allow: 0, challenge: 1, review: 2, deny: 3 };

export interface RiskEvent {
  readonly kind: RiskEventKind;
  /** The customer; null only for a sign-in or recovery whose identifier matched nobody. */
  readonly accountId: string | null;
  readonly deviceId?: string | null;
  readonly ip?: string | null;
  /** ISO 3166-1 alpha-2, from the edge's geolocation; Koban does not guess it. */
  readonly country?: string | null;
  /** A stable reference to the card (token or fingerprint), never a PAN. */
  readonly cardRef?: string | null;
  readonly storeId?: string | null;
  /** Payments: the merchant paid (money converging on one merchant, issue 13). */
  readonly merchantId?: string | null;
  readonly merchantCategoryCode?: string | null;
  readonly amountMinor?: bigint | null;
  /** Payments only: what the wallet holds before this payment (the balance-drain rule); absent when unknown. */
  readonly balanceMinor?: bigint | null;
  /** Sends: the recipient, and whether this sender never sent to them before (the mule rule counts new senders). */
  readonly counterpartyId?: string | null;
  readonly firstToCounterparty?: boolean | null;
  /** Sends: what was topped up in the last hours from a card registered within the last 24 h (the wallet knows it). */
  readonly newCardTopUpMinor?: bigint | null;
  /** The caller's reference (payment id, top-up id…), kept with the decision. */
  readonly ref?: string | null;
  /**
   * Payments: the customer proved this very payment (or the code it charges) with the passkey they pay with
   * (identity's payment-passkey.ts) — user verification on their own authenticator, which malware holding the
   * session, the device key and the PIN cannot give. It is the strong confirmation a challenge asks for.
   */
  readonly passkeyProved?: boolean;
}

export interface RiskReason {
  readonly rule: string;
  readonly action: RiskAction;
  readonly score: number;
  readonly message: string;
  readonly observed?: string;
  readonly threshold?: string;
}

export interface RiskDecision {
  readonly id: string;
  readonly decision: RiskDecisionKind;
  readonly score: number;
  readonly reasons: readonly RiskReason[];
  readonly ruleVersion: number;
}

/** An allow not recorded yet (`assessPending`): its caller records it in its own transaction (`recordPending`). Opaque. */
export interface PendingDecision {
  readonly decisionId: string;
}

/**
 * Something another module saw that an operator must look at (issue 14): a second factor locked after
 * guessing, an SMS budget exhausted, a forged or mismatching provider callback. Not scored: recorded as
 * a `review` decision of kind `security_signal`, which joins the customer's case when it names one.
 */
export const SECURITY_SIGNALS = ['factor_locked', 'sms_budget_exceeded', 'forged_callback', 'mismatching_callback', 'terminal_code_guessing', 'payment_passkey_missing', 'held_payment_pin_only'] as const;
export type SecuritySignalName = (typeof SECURITY_SIGNALS)[number];
export interface SecuritySignal {
  readonly signal: SecuritySignalName;
  readonly accountId: string | null;
  readonly ip?: string | null;
  readonly ref?: string | null;
  readonly message: string;
}

/** Failed password or PIN attempts: counted for the failure-burst rule, never decided on. */
export interface RiskFailure {
  readonly kind: 'password' | 'pin';
  readonly accountId: string | null;
  readonly ip?: string | null;
  readonly deviceId?: string | null;
}

/** A counter a rule reads: the sum over `windowSec` of `key` (bucketed by `bucketSec`). */
export interface CounterNeed {
  readonly key: string;
  readonly bucketSec: number;
  readonly windowSec: number;
  /** Whether this event itself counts (true for the event's own counters). */
  readonly increment: boolean;
}

export interface CounterValue {
  readonly count: bigint;
  readonly amountMinor: bigint;
}

export interface LinkFact {
  /**
   * Distinct accounts seen with this device/card/network in the link window, this one included. Counted only
   * when an enabled rule for the event's kind reads it (`RiskRule.countsAccountsOf`); otherwise 1.
   */
  readonly accounts: number;
  /** When this account was first seen with it (now if just now). */
  readonly firstSeenMs: number;
  /**
   * Devices only: when the account was first seen with any *other* device, or null when this is its only
   * one. A device new to an account that has older ones is what a takeover looks like; a customer's first
   * device (a new account) is not.
   */
  readonly otherFirstSeenMs?: number | null;
}

export interface StoreFact {
  readonly here: { lat: number; lon: number } | null;
  readonly usual: ReadonlyArray<{ lat: number; lon: number }>;
}

export interface Facts {
  readonly nowMs: number;
  counter(need: CounterNeed): CounterValue;
  readonly device: LinkFact | null;
  readonly card: LinkFact | null;
  readonly network: LinkFact | null;
  /** When this account was first seen at this store (`accounts` is not counted for stores: always 1). */
  readonly storeLink: LinkFact | null;
  readonly store: StoreFact | null;
  readonly lists: ListView;
}

export interface ListView {
  has(list: RiskListName, value: string): boolean;
  networkIn(list: 'blocked_network' | 'marked_network', ip: string): boolean;
}

export const RISK_LISTS = ['blocked_device', 'blocked_card', 'blocked_network', 'marked_network', 'marked_country'] as const;
export type RiskListName = (typeof RISK_LISTS)[number];

export interface RuleSetting<P> {
  readonly enabled: boolean;
  readonly action: RiskAction;
  readonly params: P;
  readonly version: number;
}

export interface Hit {
  readonly message: string;
  readonly observed?: string;
  readonly threshold?: string;
}

export interface RiskRule<P> {
  readonly id: string;
  readonly description: string;
  readonly kinds: readonly RiskEventKind[];
  readonly defaults: { readonly enabled: boolean; readonly action: RiskAction; readonly params: P };
  /** Parses stored or submitted params (unknown JSON); throws risk_rule_invalid naming the field. */
  parse(params: unknown): P;
  /** Params as JSON (amounts as strings of digits). */
  serialize(params: P): Record<string, unknown>;
  /** Each parameter's unit and bounds, for the console's plain-language labels. */
  describeParams(): ParamDescription[];
  needs(event: RiskEvent, params: P): CounterNeed[];
  /**
   * The links whose distinct accounts (`LinkFact.accounts`) this rule reads. Only those are counted: a busy
   * network (a mobile carrier's NAT, every test client on 127.0.0.1) links thousands of accounts, and counting
   * them on every payment cost most of a payment's database time (issue 11's profile).
   */
  readonly countsAccountsOf?: readonly CountedLink[];
  evaluate(event: RiskEvent, facts: Facts, params: P): Hit | null;
  /**
   * Counters this event adds to once its facts are known (a counter whose growth depends on a fact, such as
   * "this account changed recently"); the engine writes them after the decision, in one statement.
   */
  countsAfter?(event: RiskEvent, facts: Facts, params: P): CounterNeed[];
}

export type CountedLink = 'device' | 'card' | 'network';

/**
 * What identity needs from the risk engine (src/risk), as a small port: identity is created before
 * risk (src/koban.ts), so the engine is plugged in afterwards with `identity.useRisk(koban.risk)`.
 *
 * Until then the port allows everything and counts nothing. That default exists only for the few
 * statements between `createIdentity` and `useRisk` in createKoban, which run before any route can
 * answer (the app is not ready yet); `useRisk` may be called once.
 */
import { assert } from '../platform/assert.ts';

export type RiskVerdict = 'allow' | 'challenge' | 'review' | 'deny';

export interface IdentityRiskEvent {
  readonly kind: 'sign_in' | 'recovery' | 'social_link' | 'credential_change';
  /** Null for a recovery whose identifier matched nobody. */
  readonly accountId: string | null;
  readonly deviceId: string | null;
  readonly ip: string | null;
  readonly ref?: string | null;
}

export interface IdentityRiskFailure {
  readonly kind: 'password' | 'pin';
  readonly accountId: string | null;
  readonly ip: string | null;
  readonly deviceId: string | null;
}

/** Something an operator must see (issue 14); the engine records it as a review-level alert. */
export interface IdentitySecuritySignal {
  readonly signal: 'factor_locked' | 'sms_budget_exceeded' | 'payment_passkey_missing' | 'held_payment_pin_only';
  readonly accountId: string | null;
  readonly ip: string | null;
  readonly ref?: string | null;
  readonly message: string;
}

export interface RiskPort {
  /** The engine records the decision, its reasons and any case it opens; identity only acts on the verdict. */
  assess(event: IdentityRiskEvent): Promise<{ readonly decision: RiskVerdict }>;
  recordFailure(failure: IdentityRiskFailure): Promise<void>;
  /** A complete sign-in: the account's run of failures is over (the engine's failure_burst counts consecutive ones). */
  clearAccountFailures(accountId: string): Promise<void>;
  recordSignal(signal: IdentitySecuritySignal): Promise<unknown>;
}

const ALLOW_ALL: RiskPort = {
  assess: async () => ({ decision: 'allow' }),
  recordFailure: async () => {},
  clearAccountFailures: async () => {},
  recordSignal: async () => {},
};

/** A port that forwards to whatever engine is plugged in last (ALLOW_ALL until then). */
export function createRiskSlot(): { port: RiskPort; plug(engine: RiskPort): void } {
  let engine: RiskPort = ALLOW_ALL;
  let plugged = false;
  return {
    port: {
      assess: (event) => engine.assess(event),
      recordFailure: (failure) => engine.recordFailure(failure),
      clearAccountFailures: (accountId) => engine.clearAccountFailures(accountId),
      recordSignal: (signal) => engine.recordSignal(signal),
    },
    plug(next) {
      assert(!plugged, 'identity is given its risk engine once');
      plugged = true;
      engine = next;
    },
  };
}

/** Deny and review both stop the action; the engine has already recorded why (and opened any case). */
export function riskRefuses(verdict: RiskVerdict): boolean {
  return verdict === 'deny' || verdict === 'review';
}

/**
 * The identity module's face to the rest of Koban. Wallet and payments use `guard` to get the
 * signed-in customer, `requireStepUp` for every sensitive route, `verifyChargePin` (or
 * `authorizeTopUp`, which does all three checks in the right order) and `isInRecoveryCooldown`.
 */
import type { Config } from '../platform/config.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { RequestOrigin } from '../platform/audit/security-log.ts';
import type { IdentityDeps, SwitchPort } from './deps.ts';
import { assert } from '../platform/assert.ts';
import { createCustomerGuard, type CustomerGuard } from './http/guard.ts';
import { createPasswordHasher } from './password/hasher.ts';
import { createPaymentPasskeyGate, type PaymentPasskeyGate } from './payment-passkey.ts';
import { verifyChargePin } from './pin/charge-pin.ts';
import { isInRecoveryCooldown, refuseDuringRecoveryCooldown } from './recovery/cooldown.ts';
import { forcePasswordAndPinReset, forceResetAllCustomers } from './recovery/forced-reset.ts';
import { createRiskSlot, type RiskPort } from './risk-port.ts';
import { createSecrets } from './secrets.ts';
import { purgeExpiredProofs } from './sessions/device-proof.ts';
import { purgeIdleDecoyGuards } from './login/decoy.ts';
import { isEstablishedDevice } from './sessions/devices.ts';
import { createPaymentEmailCodes, type PaymentEmailCodes } from './payment-email-code.ts';
import { purgeExpiredSignups } from './signup/signup.ts';
import { checkSignInHealth, signInHealth, type SignInAlertReason, type SignInHealth } from './sign-in-health.ts';
import type { Session } from './sessions/sessions.ts';
import type { StepUpAction, StepUpParams } from './step-up/actions.ts';
import { requireStepUp } from './step-up/step-up.ts';
import { createSocialLogin, type SocialLogin } from './social-links/social-login.ts';

export interface Identity {
  readonly deps: IdentityDeps;
  readonly guard: CustomerGuard;
  readonly social: SocialLogin | null;
  /** Payments made by a customer who pays with a passkey need it (payment-passkey.ts). */
  readonly paymentPasskey: PaymentPasskeyGate;
  /** Without a passkey, a held payment's strong confirmation is the PIN plus a code e-mailed to a settled address (payment-email-code.ts). */
  readonly paymentEmailCodes: PaymentEmailCodes;
  requireStepUp(db: Queryable, session: Pick<Session, 'id' | 'customerId'>, grant: string | null | undefined, action: StepUpAction, params: StepUpParams): Promise<void>;
  verifyChargePin(customerId: string, pin: string | null | undefined, origin?: RequestOrigin | null): Promise<void>;
  isInRecoveryCooldown(customerId: string): Promise<boolean>;
  /** The device was remembered on this account at least a day ago (devices.ts). */
  isEstablishedDevice(customerId: string, deviceId: string): Promise<boolean>;
  /** Top-up gate: no cool-down, a step-up grant for exactly this amount and source, and the right PIN. */
  authorizeTopUp(session: Session, input: { grant: string | null | undefined; pin: string | null | undefined; amountMinor: bigint; fundingSourceId: string }, origin?: RequestOrigin | null): Promise<void>;
  /** Send gate (issue 19): no cool-down, a step-up grant `send {amountMinor, recipient}` (the recipient's Koban ID), and the right PIN. */
  authorizeSend(session: Session, input: { grant: string | null | undefined; pin: string | null | undefined; amountMinor: bigint; recipient: string }, origin?: RequestOrigin | null): Promise<void>;
  /** Withdrawal gate (issue 19): no cool-down, a step-up grant for exactly this amount and bank account, and the right PIN. */
  authorizeWithdrawal(session: Session, input: { grant: string | null | undefined; pin: string | null | undefined; amountMinor: bigint; fundingSourceId: string }, origin?: RequestOrigin | null): Promise<void>;
  purgeExpired(): Promise<void>;
  /** Platform-wide sign-in health as of `at` (sign-in-health.ts): the console's series and the alert's figures. */
  signInHealth(at?: Date): Promise<SignInHealth>;
  /** Measures and raises a `platform.sign_in_alert` when a threshold is crossed (the leased job, once a minute). */
  checkSignInHealth(at?: Date): Promise<{ raised: boolean; reasons: SignInAlertReason[]; health: SignInHealth }>;
  /**
   * Plugs in the risk engine (once). createKoban calls it right after creating risk, before the app
   * serves anything; until then identity's port allows everything (risk-port.ts).
   */
  useRisk(risk: RiskPort): void;
  /** Plugs in operations' kill switches (once), right after operations is created (the `sms` switch). */
  useSwitches(switches: SwitchPort): void;
  /** Flags the customer (sign-in refused until recovery), deletes the charge PIN, revokes every session; answers how many. */
  forcePasswordAndPinReset(customerId: string, reason: string): Promise<number>;
  /** The same for every active customer, in bounded batches. */
  forceResetAllCustomers(reason: string): Promise<{ customers: number; sessions: number }>;
}

export function createIdentity(config: Config, db: Database): Identity {
  const risk = createRiskSlot();
  let switches: SwitchPort | null = null;
  const deps: IdentityDeps = {
    // Until createKoban plugs operations in (before the app serves), every switch reads as on.
    switches: { isOn: (name) => switches?.isOn(name) ?? true },
    db,
    config: config.identity,
    publicOrigin: new URL(config.publicUrl).origin,
    secrets: createSecrets(config.identity.secret),
    hasher: createPasswordHasher(config.identity.passwordHashConcurrency, config.identity.passwordHashQueueMax),
    risk: risk.port,
  };
  return {
    deps,
    guard: createCustomerGuard(deps),
    social: createSocialLogin(deps, config.publicUrl, config.nodeEnv),
    paymentPasskey: createPaymentPasskeyGate(deps),
    paymentEmailCodes: createPaymentEmailCodes(deps),
    requireStepUp,
    verifyChargePin: (customerId, pin, origin = null) => verifyChargePin(deps, customerId, pin, origin),
    isInRecoveryCooldown: (customerId) => isInRecoveryCooldown(db.pool, customerId),
    isEstablishedDevice: (customerId, deviceId) => isEstablishedDevice(db.pool, customerId, deviceId),
    async authorizeTopUp(session, input, origin = null) {
      await refuseDuringRecoveryCooldown(db.pool, session.customerId);
      // The grant is consumed first: a wrong PIN then restarts the whole top-up (STEP-04).
      await requireStepUp(db.pool, session, input.grant, 'top_up', { amountMinor: input.amountMinor, fundingSourceId: input.fundingSourceId });
      await verifyChargePin(deps, session.customerId, input.pin, origin);
    },
    async authorizeSend(session, input, origin = null) {
      await refuseDuringRecoveryCooldown(db.pool, session.customerId);
      await requireStepUp(db.pool, session, input.grant, 'send', { amountMinor: input.amountMinor, recipient: input.recipient });
      await verifyChargePin(deps, session.customerId, input.pin, origin);
    },
    async authorizeWithdrawal(session, input, origin = null) {
      await refuseDuringRecoveryCooldown(db.pool, session.customerId);
      await requireStepUp(db.pool, session, input.grant, 'withdraw', { amountMinor: input.amountMinor, fundingSourceId: input.fundingSourceId });
      await verifyChargePin(deps, session.customerId, input.pin, origin);
    },
    useRisk: (engine) => risk.plug(engine),
    useSwitches(next) {
      assert(switches === null, 'identity is given its switches once');
      switches = next;
    },
    forcePasswordAndPinReset: (customerId, reason) => forcePasswordAndPinReset(db, customerId, reason),
    forceResetAllCustomers: (reason) => forceResetAllCustomers(db, reason),
    signInHealth: (at = new Date()) => signInHealth(db.pool, config.identity.signInHealth, at),
    checkSignInHealth: (at = new Date()) => checkSignInHealth(db.pool, config.identity.signInHealth, at),
    async purgeExpired() {
      await purgeExpiredSignups(deps);
      await purgeExpiredProofs(db.pool);
      await db.pool.query('delete from webauthn_challenges where expires_at <= now()');
      await db.pool.query('delete from social_transactions where expires_at <= now()');
      await purgeIdleDecoyGuards(db.pool);
    },
  };
}

// Direct-debit mandates (口座振替). Creation makes the bank send its own one-time code to the account holder;
// Koban only relays what the holder types. The sandbox has no phone, so the code is readable through a test
// endpoint standing in for the bank's SMS or app.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BoundedMap } from '../shared/bounded-map.ts';
import { invalidRequest, invalidState, notFound, SandboxError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { accountBehaviour } from './accounts.ts';
import type { BankFailureCode } from './accounts.ts';

export const MAX_OTP_FAILURES = 3;
export const OTP_TTL_MS = 10 * 60 * 1000;
const OTP_DIGITS = 6;
const MANDATE_CAPACITY = 100_000;

export type AccountType = 'ordinary' | 'current';
export type MandateStatus = 'pending_confirmation' | 'active' | 'failed' | 'expired';
export type MandateFailureCode = BankFailureCode | 'otp_attempts_exceeded' | 'otp_expired';
export type MandateEventType = 'mandate_activated' | 'mandate_failed';

export interface BankAccount {
  bankCode: string;
  branchCode: string;
  accountType: AccountType;
  accountNumber: string;
  holderNameKana: string;
}

export interface MandateRecord extends BankAccount {
  id: string;
  status: MandateStatus;
  failureCode: MandateFailureCode | null;
  otpFailures: number;
  otpExpiresAtMs: number;
  createdAtMs: number;
}

export class MandateBook {
  readonly #mandates = new BoundedMap<MandateRecord>('mandates', MANDATE_CAPACITY, 'reject');
  readonly #pendingIds = new Set<string>();
  readonly #otpKey: string;
  readonly #now: () => number;
  readonly #emit: (type: MandateEventType, mandate: MandateRecord) => void;

  constructor(otpKey: string, now: () => number, emit: (type: MandateEventType, mandate: MandateRecord) => void) {
    this.#otpKey = otpKey;
    this.#now = now;
    this.#emit = emit;
  }

  create(account: BankAccount): MandateRecord {
    const nowMs = this.#now();
    const failure = accountBehaviour(account.accountNumber).mandateFailure;
    const mandate: MandateRecord = {
      ...account, id: newId('mdt'), status: failure === null ? 'pending_confirmation' : 'failed', failureCode: failure,
      otpFailures: 0, otpExpiresAtMs: nowMs + OTP_TTL_MS, createdAtMs: nowMs,
    };
    this.#mandates.set(mandate.id, mandate);
    if (failure === null) this.#pendingIds.add(mandate.id);
    else this.#emit('mandate_failed', mandate);
    return mandate;
  }

  get(id: string, param = 'id'): MandateRecord {
    const mandate = this.#mandates.get(id);
    if (mandate === undefined) throw notFound('mandate', param);
    return mandate;
  }

  confirm(id: string, code: string): MandateRecord {
    const mandate = this.get(id);
    if (mandate.status === 'expired') throw new SandboxError(410, 'invalid_request_error', 'otp_expired', 'The one-time code has expired.');
    if (mandate.status !== 'pending_confirmation') throw invalidState('mandate_not_pending', `The mandate is ${mandate.status}.`);
    if (this.#codeMatches(mandate, code)) {
      this.#settle(mandate, 'active', null);
      return mandate;
    }
    mandate.otpFailures += 1;
    if (mandate.otpFailures < MAX_OTP_FAILURES) {
      throw invalidRequest('incorrect_otp', `The one-time code is incorrect; ${MAX_OTP_FAILURES - mandate.otpFailures} attempt(s) left.`, 'code');
    }
    this.#settle(mandate, 'failed', 'otp_attempts_exceeded');
    throw invalidRequest('otp_attempts_exceeded', 'Too many incorrect one-time codes; the mandate failed.', 'code');
  }

  /** What the bank's SMS would say. Only for the test endpoint: never part of an API response. */
  otpFor(id: string): { code: string; expiresAtMs: number } {
    const mandate = this.get(id);
    if (mandate.status !== 'pending_confirmation') throw invalidState('mandate_not_pending', `The mandate is ${mandate.status}.`);
    return { code: this.#otp(mandate.id), expiresAtMs: mandate.otpExpiresAtMs };
  }

  /** Called on every request so expiry follows the injected clock without timers. */
  expireDue(): void {
    const nowMs = this.#now();
    for (const id of this.#pendingIds) {
      const mandate = this.get(id);
      if (nowMs >= mandate.otpExpiresAtMs) this.#settle(mandate, 'expired', 'otp_expired');
    }
  }

  // Derived from the id with a server key: deterministic for a mandate, unguessable without the key.
  #otp(mandateId: string): string {
    const value = createHmac('sha256', this.#otpKey).update(mandateId).digest().readUInt32BE(0) % 10 ** OTP_DIGITS;
    return value.toString().padStart(OTP_DIGITS, '0');
  }

  #codeMatches(mandate: MandateRecord, code: string): boolean {
    const presented = Buffer.from(code);
    const expected = Buffer.from(this.#otp(mandate.id));
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  }

  #settle(mandate: MandateRecord, status: 'active' | 'failed' | 'expired', failureCode: MandateFailureCode | null): void {
    mandate.status = status;
    mandate.failureCode = failureCode;
    this.#pendingIds.delete(mandate.id);
    this.#emit(status === 'active' ? 'mandate_activated' : 'mandate_failed', mandate);
  }
}

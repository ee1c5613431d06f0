/**
 * The actions that need a fresh step-up (STEP-01), and the canonical hash of an action with its exact
 * parameters (STEP-02: "what you see is what you sign"). Values are compared as strings, so the
 * amount 1000 and "1000" are the same and 1001 is different.
 */
import { createHash } from 'node:crypto';
import { KobanError } from '../../platform/errors.ts';

export const STEP_UP_ACTIONS = [
  'top_up', 'add_funding_source', 'link_social', 'unlink_social', 'change_email', 'change_phone', 'change_password', 'change_factors', 'raise_limits', 'send', 'withdraw',
  // Issue 13: a passkey confirms a payment held for a strong confirmation, bound to {paymentId, amountMinor}.
  'confirm_payment',
  // Issue 13: a customer who pays with a passkey proves it for each payment (payment-passkey.ts): {method: code}, or
  // {method: order_qr, codeId}, or {method: store_qr, amountMinor}.
  'pay',
] as const;
export type StepUpAction = (typeof STEP_UP_ACTIONS)[number];

export type StepUpParams = Readonly<Record<string, string | number | bigint | boolean>>;
export const STEP_UP_PARAMS_MAX = 16;
const PARAM_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;
const PARAM_VALUE_LENGTH_MAX = 256;

export function isStepUpAction(value: string): value is StepUpAction {
  return (STEP_UP_ACTIONS as readonly string[]).includes(value);
}

export function stepUpHash(action: StepUpAction, params: StepUpParams): Buffer {
  const entries = Object.entries(params);
  if (entries.length > STEP_UP_PARAMS_MAX) throw new KobanError('validation_failed', { detail: `at most ${STEP_UP_PARAMS_MAX} step-up parameters` });
  const canonical = entries
    .map(([key, value]): [string, string] => {
      const text = String(value);
      if (!PARAM_KEY.test(key) || text.length > PARAM_VALUE_LENGTH_MAX) throw new KobanError('validation_failed', { detail: `step-up parameter ${key} is not valid` });
      return [key, text];
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify([action, canonical])).digest();
}

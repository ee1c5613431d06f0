// The step-up policy table itself: complete, and never weaker once a passkey exists or risk is elevated.
import { describe, expect, it } from 'vitest';
import { STEP_UP_ACTIONS } from './actions.ts';
import { allowedStepUpFactors, STEP_UP_POLICY } from './policy.ts';

describe('step-up policy table', () => {
  it('has one row per step-up action', () => {
    expect(Object.keys(STEP_UP_POLICY).sort()).toEqual([...STEP_UP_ACTIONS].sort());
  });

  it.each(STEP_UP_ACTIONS)('%s: no SMS once a passkey is enrolled (no downgrade), and no SMS while risk is elevated', (action) => {
    expect(allowedStepUpFactors(action, { hasPasskey: true, riskElevated: false })).not.toContain('sms');
    expect(allowedStepUpFactors(action, { hasPasskey: false, riskElevated: true })).not.toContain('sms');
    expect(allowedStepUpFactors(action, { hasPasskey: true, riskElevated: true })).toContain('passkey');
  });

  it.each(['change_email', 'change_phone', 'change_password', 'change_factors', 'link_social', 'add_funding_source'] as const)(
    '%s needs the passkey itself once one exists', (action) => {
      expect(allowedStepUpFactors(action, { hasPasskey: true, riskElevated: false })).toEqual(['passkey']);
    });

  it('a customer with neither passkey nor elevated risk may use any factor they have (a payment is confirmed by a passkey only)', () => {
    for (const action of STEP_UP_ACTIONS.filter((a) => a !== 'confirm_payment' && a !== 'pay')) expect(allowedStepUpFactors(action, { hasPasskey: false, riskElevated: false })).toEqual(['passkey', 'totp', 'sms']);
  });

  it('confirms a held payment with a passkey only: an SMS code is what a SIM swap gives a thief (issue 13)', () => {
    for (const hasPasskey of [false, true]) for (const riskElevated of [false, true]) {
      expect(allowedStepUpFactors('confirm_payment', { hasPasskey, riskElevated })).toEqual(['passkey']);
      expect(allowedStepUpFactors('pay', { hasPasskey, riskElevated })).toEqual(['passkey']);
    }
  });
});

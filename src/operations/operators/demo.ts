/**
 * Demo operators for `npm start` (never in production: config refuses KOBAN_DEMO_OPERATOR there).
 * Credentials are public on purpose and listed in src/operations/README.md; two of them so the
 * four-eyes rule can be tried (one proposes, the other approves).
 */
import { generate } from 'otplib';
import { assert } from '../../platform/assert.ts';
import type { Operators } from './operators.ts';
import type { OperatorRole } from './permissions.ts';

export const DEMO_OPERATOR_TOTP_SECRET = 'KOBANDEMOOPERATORSECRET234567ABC';
export const DEMO_OPERATOR_PASSWORD = 'koban-demo-operator';
export const DEMO_OPERATORS: ReadonlyArray<{ email: string; displayName: string; role: OperatorRole }> = [
  { email: 'demo-admin@koban.test', displayName: 'Demo Administrator', role: 'administrator' },
  { email: 'demo-finance@koban.test', displayName: 'Demo Finance', role: 'finance' },
  { email: 'demo-risk@koban.test', displayName: 'Demo Risk Analyst', role: 'risk_analyst' },
  { email: 'demo-support@koban.test', displayName: 'Demo Support', role: 'support' },
];

export async function seedDemoOperators(operators: Operators, nodeEnv: string): Promise<void> {
  assert(nodeEnv !== 'production', 'demo operators never exist in production');
  const existing = new Set((await operators.list()).map((operator) => operator.email));
  for (const demo of DEMO_OPERATORS) {
    if (existing.has(demo.email)) continue;
    await operators.create({ ...demo, password: DEMO_OPERATOR_PASSWORD, totpSecret: DEMO_OPERATOR_TOTP_SECRET }, { kind: 'system', id: 'demo-seed' });
  }
  // Operators sign in with a passkey (issue 14): a demo operator without one may enrol one after each start.
  await operators.reopenEnrolment(DEMO_OPERATORS.map((demo) => demo.email), { kind: 'system', id: 'demo-seed' });
}

/** The current code for the demo secret, for people trying Koban without an authenticator app. */
export function demoTotpCode(): Promise<string> {
  return generate({ secret: DEMO_OPERATOR_TOTP_SECRET });
}

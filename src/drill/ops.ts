/**
 * The operator side of the drill, through the operator API only (`/v1/ops`, TOTP sign-in): reads risk
 * decisions and cases to measure, relaxes and restores rules, and acts on cases when a simulated
 * operator response is asked for. Everything it changes is audited by Koban with the drill's reason.
 */
import { generate } from 'otplib';
import { problemCode, type Browser, type HttpResponse } from './http.ts';
import { sleep } from './outbox.ts';

export interface OperatorCredentials { readonly email: string; readonly password: string; readonly totpSecret: string }

export interface RiskEventView {
  readonly id: string; readonly kind: string; readonly accountId: string | null; readonly decision: string;
  readonly reasons: ReadonlyArray<{ rule: string; action: string }>; readonly createdAt: string;
}
export interface CaseView { readonly id: string; readonly accountId: string; readonly status: string; readonly openedAt: string; readonly updatedAt: string }
export interface RuleView { readonly id: string; readonly enabled: boolean; readonly action: string; readonly params: Record<string, unknown>; readonly version: number }

export interface Ops {
  rules(): Promise<{ rulesetVersion: number; rules: RuleView[] }>;
  changeRule(id: string, change: { enabled?: boolean; action?: string; params?: Record<string, unknown> }, reason: string): Promise<void>;
  /** Flagged decisions (not allow), newest first, at most 200; for one account when given. */
  flaggedEvents(accountId?: string): Promise<RiskEventView[]>;
  cases(status?: 'open' | 'closed'): Promise<CaseView[]>;
  act(caseId: string, action: 'freeze' | 'revoke-sessions', reason: string): Promise<boolean>;
  close(caseId: string, outcome: 'false_positive' | 'fraud_confirmed' | 'customer_error' | 'inconclusive', reason: string): Promise<boolean>;
}

export async function signInOperator(browser: Browser, credentials: OperatorCredentials): Promise<Ops> {
  // A TOTP code is accepted once: if this one was just used (another sign-in within the same 30 s), wait for the next.
  for (let attempt = 0; attempt < 2; attempt++) {
    const totpCode = await generate({ secret: credentials.totpSecret });
    const response = await browser.request('POST', '/v1/ops/session', { email: credentials.email, password: credentials.password, totpCode });
    if (response.status === 200) return opsOver(browser);
    if (attempt === 0 && response.status === 401) {
      await sleep(30_000 - (Date.now() % 30_000) + 500);
      continue;
    }
    throw new Error(`operator sign-in as ${credentials.email} failed: ${response.status} ${problemCode(response)}`);
  }
  throw new Error(`operator sign-in as ${credentials.email} failed`);
}

function ok(response: HttpResponse, what: string): unknown {
  if (response.status >= 200 && response.status < 300) return response.body;
  throw new Error(`${what}: ${response.status} ${problemCode(response)} ${response.text.slice(0, 300)}`);
}

export function opsOver(browser: Browser): Ops {
  return {
    async rules() {
      return ok(await browser.request('GET', '/v1/ops/risk/rules'), 'reading risk rules') as { rulesetVersion: number; rules: RuleView[] };
    },
    async changeRule(id, change, reason) {
      ok(await browser.request('PATCH', `/v1/ops/risk/rules/${encodeURIComponent(id)}`, { ...change, reason }), `changing rule ${id}`);
    },
    async flaggedEvents(accountId) {
      const query = accountId === undefined ? '' : `?accountId=${encodeURIComponent(accountId)}`;
      return (ok(await browser.request('GET', `/v1/ops/risk/events${query}`), 'reading risk events') as { events: RiskEventView[] }).events;
    },
    async cases(status) {
      return (ok(await browser.request('GET', `/v1/ops/cases${status === undefined ? '' : `?status=${status}`}`), 'reading cases') as { cases: CaseView[] }).cases;
    },
    async act(caseId, action, reason) {
      const response = await browser.request('POST', `/v1/ops/cases/${caseId}/${action}`, { reason });
      return response.status === 200;
    },
    async close(caseId, outcome, reason) {
      const response = await browser.request('POST', `/v1/ops/cases/${caseId}/close`, { outcome, reason });
      return response.status === 200;
    },
  };
}

/**
 * Every rule's thresholds set as loose as its parameters allow and every list rule off: the "no risk
 * engine" baseline a drill compares against (limits, second factors and freezes still apply). Answers
 * how to put the rules back.
 */
export async function relaxAllRules(ops: Ops, reason: string): Promise<() => Promise<void>> {
  const { rules } = await ops.rules();
  for (const rule of rules) await ops.changeRule(rule.id, { enabled: false }, reason);
  return async () => {
    for (const rule of rules) await ops.changeRule(rule.id, { enabled: rule.enabled }, `${reason}: restored`);
  };
}

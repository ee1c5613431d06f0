/**
 * The operator side of the drill, through the operator API only (`/v1/ops`, passkey sign-in): reads risk
 * decisions and cases to measure, relaxes and restores rules, and acts on cases when a simulated
 * operator response is asked for. Everything it changes is audited by Koban with the drill's reason.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { generate } from 'otplib';
import { createSoftAuthenticator, type SoftAuthenticator, type SoftCredential } from './soft-authenticator.ts';
import { problemCode, type Browser, type HttpResponse } from './http.ts';
import { sleep } from './outbox.ts';

export interface OperatorCredentials {
  readonly email: string; readonly password: string; readonly totpSecret: string;
  /**
   * Where the drill keeps its operator's software passkey (private key, 0600). Operators sign in with a passkey
   * (issue 14): the first drill against a fresh Koban enrols one with password + TOTP in the enrolment window and
   * keeps it here for the next runs; null keeps it in memory only.
   */
  readonly passkeyFile?: string | null;
}

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
  /** Platform-wide alerts (`platform.sign_in_alert`: failed sign-in rate, abandoned second factors), newest first. */
  platformAlerts(): Promise<Array<{ id: string; occurredAt: string; reasons: string[] }>>;
  /** Approves a merchant's application (the colluding merchant passes onboarding like any other). */
  approveMerchant(merchantId: string, reason: string): Promise<void>;
  /** Merchant containment: suspend (no payment anywhere) and hold payouts. Answers whether both were done. */
  containMerchant(merchantId: string, reason: string): Promise<boolean>;
}

export async function signInOperator(browser: Browser, credentials: OperatorCredentials): Promise<Ops> {
  const authenticator = createSoftAuthenticator(new URL(browser.base).origin);
  const stored = loadPasskey(credentials.passkeyFile ?? null);
  if (stored !== null) {
    authenticator.credentials.push(stored);
    if (await signInWithPasskey(browser, authenticator, false)) return opsOver(browser);
    authenticator.credentials.length = 0;
  }
  await openEnrolmentSession(browser, credentials);
  const options = ok(await browser.request('POST', '/v1/ops/passkeys/registration-options'), 'starting the passkey registration') as { challengeId: string; options: PublicKeyCredentialCreationOptionsJSON };
  ok(await browser.request('POST', '/v1/ops/passkeys', { challengeId: options.challengeId, response: authenticator.register(options.options), name: 'koban drill' }), 'registering the drill\'s passkey');
  savePasskey(credentials.passkeyFile ?? null, authenticator.credentials[0]);
  await signInWithPasskey(browser, authenticator, true);
  return opsOver(browser);
}

/** Password + TOTP: the enrolment session of an operator without a passkey (a code is accepted once: wait for the next if it was just used). */
async function openEnrolmentSession(browser: Browser, credentials: OperatorCredentials): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const totpCode = await generate({ secret: credentials.totpSecret });
    const response = await browser.request('POST', '/v1/ops/session', { email: credentials.email, password: credentials.password, totpCode });
    if (response.status === 200) return;
    if (attempt === 0 && response.status === 401) {
      await sleep(30_000 - (Date.now() % 30_000) + 500);
      continue;
    }
    const hint = problemCode(response) === 'operator_passkey_required' ? ' (it has a passkey the drill does not hold: use another operator, --operator-passkey, or a fresh database)' : '';
    throw new Error(`operator sign-in as ${credentials.email} failed: ${response.status} ${problemCode(response)}${hint}`);
  }
  throw new Error(`operator sign-in as ${credentials.email} failed`);
}

async function signInWithPasskey(browser: Browser, authenticator: SoftAuthenticator, required: boolean): Promise<boolean> {
  const options = ok(await browser.request('POST', '/v1/ops/session/passkey-options'), 'starting a passkey sign-in') as { challengeId: string; options: PublicKeyCredentialRequestOptionsJSON };
  const response = await browser.request('POST', '/v1/ops/session/passkey', { challengeId: options.challengeId, response: authenticator.assert(options.options) });
  if (response.status === 200) return true;
  if (required) ok(response, 'signing in with the drill\'s passkey');
  return false;
}

interface StoredPasskey { id: string; privateKey: string; publicKey: string; rpId: string; userHandle: string; signCount: number }

function loadPasskey(file: string | null): SoftCredential | null {
  if (file === null || !existsSync(file)) return null;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredPasskey;
  return { id: Buffer.from(stored.id, 'base64url'), privateKey: createPrivateKey(stored.privateKey), publicKey: createPublicKey(stored.publicKey),
    rpId: stored.rpId, userHandle: stored.userHandle, signCount: stored.signCount };
}

function savePasskey(file: string | null, credential: SoftCredential | undefined): void {
  if (file === null || credential === undefined) return;
  mkdirSync(path.dirname(file), { recursive: true });
  const stored: StoredPasskey = { id: credential.id.toString('base64url'), privateKey: credential.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: credential.publicKey.export({ format: 'pem', type: 'spki' }).toString(), rpId: credential.rpId, userHandle: credential.userHandle, signCount: 0 };
  writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
}

function ok(response: HttpResponse, what: string): unknown {
  if (response.status >= 200 && response.status < 300) return response.body;
  throw new Error(`${what}: ${response.status} ${problemCode(response)} ${response.text.slice(0, 300)}`);
}

/** Pages of cases read at most (200 each): far more than a drill's customers. */
const CASE_PAGES_MAX = 20;

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
      // Every page: with a large crowd set-up raises more cases than one page, and a set-up case left open
      // would take the run's alerts on that customer (they join it) out of the operator's sight.
      const all: CaseView[] = [];
      let before: string | null = null;
      for (let page = 0; page < CASE_PAGES_MAX; page++) {
        const query = new URLSearchParams({ limit: '200', ...(status === undefined ? {} : { status }), ...(before === null ? {} : { before }) });
        const body = ok(await browser.request('GET', `/v1/ops/cases?${query.toString()}`), 'reading cases') as { cases: CaseView[]; nextBefore: string | null };
        all.push(...body.cases);
        before = body.nextBefore;
        if (before === null) break;
      }
      return all;
    },
    async act(caseId, action, reason) {
      const response = await browser.request('POST', `/v1/ops/cases/${caseId}/${action}`, { reason });
      return response.status === 200;
    },
    async close(caseId, outcome, reason) {
      const response = await browser.request('POST', `/v1/ops/cases/${caseId}/close`, { outcome, reason });
      return response.status === 200;
    },
    async platformAlerts() {
      const body = ok(await browser.request('GET', '/v1/ops/security-events?type=platform.sign_in_alert&limit=50'), 'reading platform alerts') as { events: Array<{ id: string; occurredAt: string; reasons: string[] }> };
      return body.events;
    },
    async approveMerchant(merchantId, reason) {
      ok(await browser.request('POST', `/v1/ops/merchants/${merchantId}/review`, { decision: 'approve', reason }), `approving merchant ${merchantId}`);
    },
    async containMerchant(merchantId, reason) {
      const suspended = await browser.request('POST', `/v1/ops/merchants/${merchantId}/status`, { status: 'suspended', reason });
      const held = await browser.request('POST', `/v1/ops/merchants/${merchantId}/payout-hold`, { held: true, reason });
      return suspended.status === 200 && held.status === 200;
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

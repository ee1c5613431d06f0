/**
 * axe-core in a real Chromium: injected into the page by playwright-core (the context bypasses the CSP,
 * which rightly forbids inline scripts), run over the whole document, and reduced to the violations a
 * person would be blocked by (impact serious or critical), each with the selectors that fail.
 * Also: the page errors (uncaught exceptions, unhandled rejections such as `Failed to fetch`) a screen
 * causes, collected so a test can insist there are none.
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Koban } from '../../src/koban.ts';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface Violation { id: string; impact: string; help: string; targets: string[] }

/** A context for scanned pages: axe is injected with page.addScriptTag, which the apps' CSP would refuse. */
export async function scanningContext(browser: Browser, options: { width?: number; height?: number; reducedMotion?: 'reduce' | 'no-preference' } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: options.width ?? 390, height: options.height ?? 844 }, reducedMotion: options.reducedMotion ?? 'no-preference' });
  // Unhandled rejections are recorded by the page itself too (pageerror reports them, this names them).
  await context.addInitScript('window.__kobanRejections = []; addEventListener("unhandledrejection", (e) => window.__kobanRejections.push(String(e.reason && e.reason.message || e.reason)));');
  return context;
}

/** Serious and critical axe violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.addScriptTag({ path: AXE_PATH });
  const json = await page.evaluate<string>(`(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return JSON.stringify({ passed: result.passes.length, violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })) });
  })()`);
  const result = JSON.parse(json) as { passed: number; violations: Violation[] };
  // A scan that checked nothing (axe not loaded, an empty page) must not count as a clean one.
  if (result.passed === 0) throw new Error('axe checked no rule on this page');
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Page errors collected since the last call (uncaught exceptions and unhandled rejections). */
export function watchPageErrors(page: Page): () => Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return async () => {
    const rejections = await page.evaluate<string[]>('(window.__kobanRejections || []).splice(0)').catch(() => []);
    return [...errors.splice(0), ...rejections];
  };
}

let fundingAccount: string | null = null;

/** Puts money in a customer's wallet as a completed card top-up would (a balanced ledger transfer). */
export async function fundWallet(koban: Koban, customerId: string, amountMinor: bigint): Promise<void> {
  const walletAccountId = await ensureCustomerWallet(koban.db, koban.ledger, customerId);
  if (fundingAccount === null) {
    fundingAccount = uuidv7();
    await koban.ledger.createAccounts([{ id: fundingAccount, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingCard, flags: AccountFlags.none, reference: `a11y-card-clearing-${randomUUID().slice(0, 8)}` }]);
  }
  requireTransferCreated(await koban.ledger.createTransfers([{
    id: uuidv7(), debitAccountId: fundingAccount, creditAccountId: walletAccountId, amount: amountMinor,
    pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'browser test top-up',
  }]));
}

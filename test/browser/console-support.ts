/** Console browser tests: a Koban serving the web apps on a localhost origin, and signing operators in with TOTP. */
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuilt, registerWebApps } from '../../src/http/web.ts';
import type { Koban } from '../../src/koban.ts';
import type { OperatorRole } from '../../src/operations/operators/permissions.ts';
import { PUBLIC_URL } from '../identity/support.ts';
import { launchBrowser } from '../support/browser.ts';
import { startTestKoban } from '../support/koban.ts';
import { createOperator } from '../operations/support.ts';

export interface ConsoleEnv { koban: Koban; base: string; browser: Browser; close(): Promise<void> }

export async function startConsoleEnv(): Promise<ConsoleEnv> {
  expect(await ensureWebBuilt(() => undefined)).toBe(true);
  const env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_OPA_PORT: '0' }, beforeReady: registerWebApps });
  const address = await env.koban.app.listen({ host: '127.0.0.1', port: 0 });
  // localhost, not 127.0.0.1: the operator cookie is __Host- and Secure, which browsers allow on http://localhost only.
  const base = address.replace('127.0.0.1', 'localhost');
  const browser = await launchBrowser();
  return { koban: env.koban, base, browser, async close() { await browser.close(); await env.close(); } };
}

export interface BrowserOperator { id: string; email: string; displayName: string; password: string; totpSecret: string }

export async function newOperator(koban: Koban, role: OperatorRole): Promise<BrowserOperator> {
  const created = await createOperator(koban, role);
  return { id: created.operator.id, email: created.operator.email, displayName: created.operator.displayName, password: created.password, totpSecret: created.totpSecret };
}

/** Signs in through the form with the authenticator code of this 30-second step. */
export async function signInThroughForm(page: Page, base: string, operator: BrowserOperator, path = '/console/'): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('E-mail').fill(operator.email);
  await page.getByLabel('Password').fill(operator.password);
  await page.getByLabel('Authenticator code').fill(await generate({ secret: operator.totpSecret }));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

/** Fills the reason in the open dialog and presses its confirm button. */
export async function confirmWithReason(page: Page, reason: string, confirm: string | RegExp = 'Confirm'): Promise<void> {
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Reason').fill(reason);
  await dialog.getByRole('button', { name: confirm }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/**
 * Console browser tests: a Koban serving the web apps on a localhost origin, and signing operators in as they
 * do since issue 14 — with a passkey, held by Chromium's virtual authenticator (CDP WebAuthn). The first
 * sign-in of an operator goes through the form (e-mail, password, authenticator code) and registers the
 * passkey; the helper keeps the credential so a later page (another tab, after sign-out) can sign in with it.
 */
import { generate } from 'otplib';
import { expect } from 'vitest';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { ensureWebBuilt, registerWebApps } from '../../src/http/web.ts';
import type { Koban } from '../../src/koban.ts';
import type { OperatorRole } from '../../src/operations/operators/permissions.ts';
import { PUBLIC_URL } from '../identity/support.ts';
import { launchBrowser } from '../support/browser.ts';
import { startTestKoban } from '../support/koban.ts';
import { freePort } from '../support/web-koban.ts';
import { createOperator } from '../operations/support.ts';

export interface ConsoleEnv { koban: Koban; base: string; browser: Browser; close(): Promise<void> }

export async function startConsoleEnv(): Promise<ConsoleEnv> {
  expect(await ensureWebBuilt(() => undefined)).toBe(true);
  // Operators sign in with passkeys, whose relying party is the page's origin: a port known before start.
  const port = await freePort();
  const env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_OPA_PORT: '0', KOBAN_WEBAUTHN_RP_ID: 'localhost', KOBAN_WEBAUTHN_ORIGINS: `http://localhost:${port}` },
    beforeReady: registerWebApps });
  const address = await env.koban.app.listen({ host: '127.0.0.1', port });
  // localhost, not 127.0.0.1: the operator cookie is __Host- and Secure, which browsers allow on http://localhost only.
  const base = address.replace('127.0.0.1', 'localhost');
  const browser = await launchBrowser();
  return { koban: env.koban, base, browser, async close() { await browser.close(); await env.close(); } };
}

export interface BrowserOperator {
  id: string; email: string; displayName: string; password: string; totpSecret: string;
  /** The passkey the virtual authenticator created at the first sign-in (CDP WebAuthn.Credential objects). */
  credentials: unknown[];
}

export async function newOperator(koban: Koban, role: OperatorRole): Promise<BrowserOperator> {
  const created = await createOperator(koban, role);
  return { id: created.operator.id, email: created.operator.email, displayName: created.operator.displayName, password: created.password, totpSecret: created.totpSecret, credentials: [] };
}

/** Opens the console at `path` and signs in (see signInOnPage). */
export async function signInThroughForm(page: Page, base: string, operator: BrowserOperator, path = '/console/'): Promise<void> {
  const authenticator = await virtualAuthenticator(page, operator);
  await page.goto(`${base}${path}`);
  await signInOnPage(page, operator, authenticator);
}

export interface VirtualAuthenticator { cdp: CDPSession; authenticatorId: string }

/** Chromium's virtual platform authenticator (user verification on), holding the operator's passkey if they have one. */
export async function virtualAuthenticator(page: Page, operator: BrowserOperator): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  for (const credential of operator.credentials) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential as never });
  return { cdp, authenticatorId };
}

/**
 * On the sign-in screen: the passkey when the operator has one; otherwise the first sign-in (form with the
 * authenticator code of this 30-second step), then "Register a passkey", which signs in with the new passkey.
 */
export async function signInOnPage(page: Page, operator: BrowserOperator, authenticator: VirtualAuthenticator): Promise<void> {
  if (operator.credentials.length > 0) {
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  } else {
    await page.getByLabel('E-mail').fill(operator.email);
    await page.getByLabel('Password').fill(operator.password);
    await page.getByLabel('Authenticator code').fill(await generate({ secret: operator.totpSecret }));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Register a passkey' }).click();
  }
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  if (operator.credentials.length === 0) {
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(credentials).toHaveLength(1);
    operator.credentials.push(...credentials);
  }
}

/** Fills the reason in the open dialog and presses its confirm button. */
export async function confirmWithReason(page: Page, reason: string, confirm: string | RegExp = 'Confirm'): Promise<void> {
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Reason').fill(reason);
  await dialog.getByRole('button', { name: confirm }).click();
  await dialog.waitFor({ state: 'hidden' });
}

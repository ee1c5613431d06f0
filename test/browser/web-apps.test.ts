/** The three web apps in a real Chromium: served by Koban, bilingual, usable at 360 px wide. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ensureWebBuilt, registerWebApps, WEB_APPS } from '../../src/http/web.ts';
import type { Koban } from '../../src/koban.ts';
import { launchBrowser, overflowsHorizontally, screenshot } from '../support/browser.ts';
import { startTestKoban } from '../support/koban.ts';

let koban: Koban;
let close: () => Promise<void>;
let browser: Browser;
let base: string;

beforeAll(async () => {
  expect(await ensureWebBuilt(() => undefined)).toBe(true);
  ({ koban, close } = await startTestKoban({ beforeReady: registerWebApps }));
  base = await koban.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await close();
});

describe('web apps', () => {
  it('the wallet opens in Japanese, switches to English, and sees the service', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${base}/wallet/`);
    await expect.poll(() => page.getByRole('status').textContent()).toContain('正常');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Koban ウォレット');
    await screenshot(page, 'wallet-home-ja');
    await page.getByRole('button', { name: 'Switch to English' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Koban Wallet');
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
    await page.close();
  });

  // The till's keypad (after activation) is covered by test/browser/till.test.ts.

  it('deep links load their app, and every app fits a 360 px wide phone', async () => {
    for (const app of WEB_APPS) {
      const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
      const response = await page.goto(`${base}/${app}/some/deep/link`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
      await page.getByRole('heading', { level: 1 }).waitFor();
      expect(await overflowsHorizontally(page), `${app} overflows at 360 px`).toBe(false);
      await screenshot(page, `${app}-360`);
      await page.close();
    }
  });

  it('the console form is labelled for screen readers', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/console/`);
    for (const label of ['E-mail', 'Password', 'Authenticator code']) await expect(page.getByLabel(label).count()).resolves.toBe(1);
    await page.close();
  });
});

// Social sign-in from the wallet through the development identity provider (the same set-up as
// `npm start`, src/demo/dev-idp.ts): linking needs a step-up and lands back in settings; signing in
// with the linked account lands back in the wallet and still asks a new browser for Koban's own second
// factor; an identity nobody linked signs nobody in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../src/demo/dev-idp.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { signUp, type Customer } from '../identity/support.ts';
import { freePort, nextCode, startWalletKoban, type WalletKoban } from './wallet-account-helpers.ts';

const VIEW = { width: 390, height: 844 };

let idp: DevIdentityProvider;
let env: WalletKoban;
let browser: Browser;
let customer: Customer;
const seen = new Set<string>();

beforeAll(async () => {
  const port = await freePort();
  idp = await startDevIdentityProvider({ NODE_ENV: 'test', KOBAN_PUBLIC_URL: `http://localhost:${port}`, KOBAN_DEV_IDP_PORT: '0' });
  const social = Object.fromEntries(Object.entries(idp.env).filter((entry): entry is [string, string] => entry[0].startsWith('KOBAN_SOCIAL_') && entry[1] !== undefined));
  env = await startWalletKoban(port, social);
  browser = await launchBrowser();
  customer = await signUp(env.koban, 'kites over the tonegawa at dusk');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
  await idp?.close();
});

const code = (to: string, kind: string) => nextCode(env.koban, env.base, to, kind, seen);

async function signInAtIdp(page: Page, login: string, password: string): Promise<void> {
  await page.getByLabel('Login (sub or e-mail)').waitFor();
  expect(new URL(page.url()).origin).toBe(new URL(idp.issuer ?? '').origin);
  await page.getByLabel('Login (sub or e-mail)').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function answerSms(page: Page, kind: string): Promise<void> {
  await page.getByRole('button', { name: 'コードを送信' }).click();
  await page.getByLabel('SMSで届いた6桁のコード').fill(await code(customer.phone, kind));
  await page.getByRole('button', { name: '確認する' }).click();
}

describe('social sign-in through the development identity provider', () => {
  it('links the provider from settings behind a step-up, then signs in with it on a new browser after a second factor', async () => {
    const owner = await browser.newContext({ viewport: VIEW });
    owner.setDefaultTimeout(10_000);
    const page = await owner.newPage();
    await page.goto(`${env.base}/wallet/sign-in`);
    await page.getByLabel('メールアドレスまたは電話番号').fill(customer.email);
    await page.getByLabel('パスワード', { exact: true }).fill(customer.password);
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    await answerSms(page, 'login_code');
    await page.waitForURL(`${env.base}/wallet/`);

    await page.goto(`${env.base}/wallet/settings/social`);
    await page.getByRole('button', { name: '開発用IDプロバイダと連携' }).click();
    const dialog = page.getByRole('dialog', { name: '本人確認' });
    await dialog.getByRole('button', { name: 'コードを送信' }).click();
    await dialog.getByLabel('SMSで届いた6桁のコード').fill(await code(customer.phone, 'step_up_code'));
    await dialog.getByRole('button', { name: '確認する' }).click();
    await signInAtIdp(page, 'demo-taro', 'taro-dev-idp');
    await page.getByText('開発用IDプロバイダを連携しました。').waitFor();
    expect(page.url()).toBe(`${env.base}/wallet/settings/social`);
    await expect.poll(() => page.getByRole('button', { name: '連携を解除' }).count()).toBe(1);
    await owner.close();

    const fresh = await browser.newContext({ viewport: VIEW });
    fresh.setDefaultTimeout(10_000);
    const other = await fresh.newPage();
    await other.goto(`${env.base}/wallet/sign-in`);
    await other.getByRole('link', { name: '開発用IDプロバイダでログイン' }).click();
    await signInAtIdp(other, 'taro@dev-idp.example', 'taro-dev-idp');
    // Back in the wallet, not on a JSON page; the challenge left the address bar at once.
    await other.getByRole('heading', { name: '2段階目の確認' }).waitFor();
    expect(other.url()).toBe(`${env.base}/wallet/sign-in`);
    expect(await other.evaluate<number>("fetch('/v1/customer/me').then((r) => r.status)")).toBe(401);
    await screenshot(other, 'wallet-social-second-factor');
    await answerSms(other, 'login_code');
    await other.waitForURL(`${env.base}/wallet/`);
    const me = await other.evaluate<{ customerId: string }>("fetch('/v1/customer/me').then((r) => r.json())");
    expect(me.customerId).toBe(customer.customerId);
    await fresh.close();
  });

  it('an identity nobody linked comes back to the sign-in page with a message and no session', async () => {
    const context = await browser.newContext({ viewport: VIEW });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    await page.goto(`${env.base}/wallet/sign-in`);
    await page.getByRole('link', { name: '開発用IDプロバイダでログイン' }).click();
    await signInAtIdp(page, 'demo-yuki', 'yuki-dev-idp');
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('連携済みのアカウント');
    expect(page.url()).toBe(`${env.base}/wallet/sign-in`);
    expect(await page.evaluate<number>("fetch('/v1/customer/me').then((r) => r.status)")).toBe(401);
    await context.close();
  });
});

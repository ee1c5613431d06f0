/**
 * The whole product in one story, in three browsers at once, with every risk rule at its default: a
 * customer signs up on a phone (codes from the development outbox), sets a charge PIN, enrols a passkey
 * (Chromium's virtual authenticator), tops up from a 3-D Secure card confirming with the passkey, and shows
 * a payment code; a store tablet activated as a till reads the code like a barcode scanner and charges it;
 * the phone shows the payment the moment it happens; an operator finds the customer in the console and
 * freezes the wallet from a case; the code the customer had already shown is then refused at the till; the
 * operator ends the customer's sessions and the phone is signed out at its next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { startWebKoban, type WebKoban } from '../support/web-koban.ts';
import { CARDS } from '../wallet/support.ts';
import { confirmWithReason, newOperator, signInThroughForm, type BrowserOperator } from './console-support.ts';
import { addVirtualAuthenticator, nextCode, uniqueContacts } from './wallet-account-helpers.ts';
import { ja } from './wallet-money-support.ts';

const PASSWORD = 'a quiet shop under the paper lanterns';
const PIN = '739164';
// A bound on waiting for an event, not a timing: generous, because a crowded CI box once took longer than 10 s.
const EVENT_BOUND_MS = 30_000;

let env: WebKoban;
let merchant: TestMerchant;
let operator: BrowserOperator;
let browser: Browser;
let phone: { context: BrowserContext; page: Page };
let tablet: Page;
let desk: Page;
const customer = uniqueContacts();
const seen = new Set<string>();
const pageErrors: string[] = [];

beforeAll(async () => {
  env = await startWebKoban({ sandboxes: true });
  merchant = await createTestMerchant(env.koban.db, env.koban.ledger, 'Koban Mart');
  operator = await newOperator(env.koban, 'support');
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'ja-JP' });
  context.setDefaultTimeout(EVENT_BOUND_MS);
  phone = { context, page: await context.newPage() };
  tablet = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  desk = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  for (const page of [phone.page, tablet, desk]) {
    page.setDefaultTimeout(EVENT_BOUND_MS);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

const code = (to: string, kind: string) => nextCode(env.koban, env.base, to, kind, seen);

/** The step-up dialog: with a passkey enrolled it offers the passkey first, and the authenticator answers. */
async function stepUp(page: Page, by: 'sms' | 'passkey'): Promise<void> {
  const dialog = page.getByRole('dialog', { name: '本人確認' });
  await dialog.waitFor();
  await dialog.getByText('準備しています…').waitFor({ state: 'detached' });
  if (by === 'passkey') {
    await dialog.getByRole('button', { name: 'パスキーで確認' }).click();
  } else {
    await dialog.getByRole('button', { name: 'コードを送信' }).click();
    await dialog.getByLabel('SMSで届いた6桁のコード').fill(await code(customer.phone, 'step_up_code'));
    await dialog.getByRole('button', { name: '確認する' }).click();
  }
  await dialog.waitFor({ state: 'detached' });
}

/** The customer has a passkey, so they pay with it (issue 13): each code is shown once the passkey confirms it. */
async function showPayCode(page: Page): Promise<string> {
  await page.goto(`${env.base}/wallet/pay`);
  await page.getByRole('button', { name: ja('money.pay.withPasskey') }).click();
  await stepUp(page, 'passkey');
  await page.getByRole('img', { name: ja('money.pay.barcodeAlt') }).waitFor();
  return ((await page.getByLabel(ja('money.pay.digitsLabel')).textContent()) ?? '').replace(/\s/g, '');
}

/** Keys the amount on the till and reads the code the way a barcode scanner types it. */
async function chargeAtTill(amountKeys: string[], payCode: string): Promise<void> {
  for (const key of amountKeys) await tablet.getByRole('button', { name: key, exact: true }).click();
  await tablet.getByRole('button', { name: 'お支払いへ' }).click();
  await tablet.keyboard.type(payCode, { delay: 0 });
  await tablet.keyboard.press('Enter');
}

// Each step waits for several events, each bounded by EVENT_BOUND_MS.
describe('a customer, a till and an operator', { timeout: 4 * EVENT_BOUND_MS }, () => {
  it('the customer signs up on a phone with codes from the outbox and sets a charge PIN', async () => {
    const page = phone.page;
    await page.goto(`${env.base}/wallet/`);
    await page.getByRole('link', { name: '新規登録' }).click();
    await page.getByLabel('メールアドレス').fill(customer.email);
    await page.getByLabel('携帯電話番号').fill(customer.phone);
    await page.getByLabel('パスワード').fill(PASSWORD);
    await page.getByRole('button', { name: '確認コードを送る' }).click();
    await page.getByLabel('メールに届いた6桁のコード').fill(await code(customer.email, 'signup_code'));
    await page.getByLabel('メールに届いた6桁のコード').press('Enter');
    await page.getByText('確認しました').waitFor();
    await page.getByLabel('SMSに届いた6桁のコード').fill(await code(customer.phone, 'signup_code'));
    await page.getByLabel('SMSに届いた6桁のコード').press('Enter');
    // The passkey offered after the codes is skipped here (enrolled from the settings next); within the
    // sign-up's setup window the first PIN and the first passkey need no further code.
    await page.getByRole('button', { name: 'あとで' }).click();
    await page.getByText('登録が完了しました').waitFor();
    await page.getByLabel('新しいPIN（6桁）').fill(PIN);
    await page.getByLabel('新しいPIN（確認）').fill(PIN);
    await page.getByRole('button', { name: 'PINを保存' }).click();
    await page.getByText('PINを保存しました。').waitFor();
  });

  it('enrols a passkey with the virtual authenticator', async () => {
    const page = phone.page;
    const authenticator = await addVirtualAuthenticator(phone.context, page);
    await page.goto(`${env.base}/wallet/settings/passkeys`);
    await page.getByLabel('パスキーの名前（任意）').fill('わたしのスマホ');
    await page.getByRole('button', { name: 'パスキーを追加' }).click();
    await page.getByText('パスキーを追加しました。').waitFor();
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(credentials).toHaveLength(1);
  });

  it('tops up ¥5,000 from a 3-D Secure card, confirming with the passkey and the PIN', async () => {
    const page = phone.page;
    await page.goto(`${env.base}/wallet/top-up`);
    await page.getByRole('button', { name: ja('money.topUp.addCard') }).click();
    await page.getByLabel(ja('money.card.number')).fill(CARDS.threeDs);
    await page.getByLabel(ja('money.card.exp')).fill('12/31');
    await page.getByLabel(ja('money.card.cvv')).fill('123');
    await page.getByLabel(ja('money.card.holder')).fill('HANAKO KOBAN');
    await page.getByRole('button', { name: ja('money.card.add') }).click();
    await stepUp(page, 'passkey');
    await page.getByRole('radio', { name: /3220/ }).waitFor();
    await page.getByLabel(ja('money.topUp.amount')).fill('5000');
    await page.getByLabel(ja('money.topUp.pin')).fill(PIN);
    await page.getByRole('button', { name: ja('money.topUp.submit', { amount: '5,000円' }) }).click();
    await stepUp(page, 'passkey');
    // The card issuer's own 3-D Secure page, then back to the wallet.
    await page.waitForURL(/\/v1\/challenges\//);
    await page.getByLabel('One-time code').fill('123456');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(/\/wallet\/top-up\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId('top-up-status').textContent(), { timeout: EVENT_BOUND_MS }).toBe(ja('money.topUp.status.completed'));
    await page.goto(`${env.base}/wallet/`);
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('5,000円');
  });

  it('a till activated on a store tablet reads the phone\'s code like a scanner, and the phone shows the payment live', async () => {
    const payCode = await showPayCode(phone.page);
    expect(payCode).toMatch(/^[0-9]{20}$/);
    await tablet.goto(`${env.base}/till/`);
    const { code: activation } = await env.koban.payments.terminals.issueActivationCode(merchant.terminalIds[0]!, 'journey test');
    await tablet.getByLabel('有効化コード').fill(activation);
    await tablet.getByRole('button', { name: '有効化する' }).click();
    await tablet.getByText('Main store / Till 1').waitFor();

    await chargeAtTill(['1', '2', '00'], payCode);
    const success = tablet.getByRole('status').filter({ hasText: 'お支払い完了' });
    await success.waitFor();
    expect(await success.textContent()).toContain('1,200円');
    await screenshot(tablet, 'journey-till-paid');
    // The phone learns it from the live stream (server-sent events), not from a reload.
    await phone.page.getByRole('region', { name: ja('money.live.label') }).getByText(/¥1,200|1,200円/).waitFor();
    await screenshot(phone.page, 'journey-wallet-paid');
    await tablet.getByRole('button', { name: '次のお会計' }).click();
  });

  it('an operator finds the customer, freezes the wallet from a case, and the code already on the phone is refused at the till', async () => {
    const codeShownBeforeTheFreeze = await showPayCode(phone.page);
    await signInThroughForm(desk, env.base, operator);
    await desk.getByRole('link', { name: 'Search' }).click();
    await desk.getByLabel(/^E-mail, phone/).fill(customer.email);
    await desk.getByRole('button', { name: 'Search', exact: true }).click();
    await desk.getByRole('link', { name: 'Customer page' }).click();
    await expect.poll(() => desk.getByTestId('wallet-balance').textContent(), { timeout: EVENT_BOUND_MS }).toBe('¥3,800');
    // The risk engine may have opened one already (the card added from a new device was challenged).
    const openCase = desk.getByRole('link', { name: 'Go to the open case' });
    if ((await openCase.count()) === 0) {
      await desk.getByRole('button', { name: 'Open a case' }).click();
      await confirmWithReason(desk, 'customer called: phone stolen on the train');
    }
    await openCase.click();
    await desk.getByRole('button', { name: 'Assign to me' }).click();
    await confirmWithReason(desk, 'customer called: phone stolen on the train');
    await desk.getByRole('button', { name: 'Freeze wallet' }).click();
    await confirmWithReason(desk, 'contain first, then talk');
    await expect.poll(async () => (await desk.locator('.timeline').textContent()) ?? '').toContain('frozen: contain first, then talk');
    await screenshot(desk, 'journey-console-frozen');

    await chargeAtTill(['3', '00'], codeShownBeforeTheFreeze);
    const refused = tablet.getByRole('alert');
    await expect.poll(() => refused.textContent()).toContain('お支払いできませんでした');
    await screenshot(tablet, 'journey-till-refused');
    // Nothing moved: the balance is what it was after the first payment, and the phone says it is frozen.
    await phone.page.goto(`${env.base}/wallet/`);
    await phone.page.getByText(ja('money.frozen.title')).first().waitFor();
    expect(await phone.page.getByTestId('balance').textContent()).toBe('3,800円');
  });

  it('the operator ends the customer\'s sessions, and the phone is signed out at its next request, saying why', async () => {
    await desk.getByRole('button', { name: 'Revoke sessions' }).first().click();
    await confirmWithReason(desk, 'the phone is in the wrong hands');
    await phone.page.getByRole('link', { name: ja('money.home.history') }).first().click();
    await phone.page.getByText('ログインの有効期限が切れたか、別の端末からログアウトされました').waitFor();
    await phone.page.getByRole('link', { name: 'ログイン' }).waitFor();
    await screenshot(phone.page, 'journey-wallet-signed-out');
    expect(pageErrors).toEqual([]);
  });
});

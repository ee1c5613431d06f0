/**
 * The merchant portal in a real Chromium, end to end (issue 16): a new merchant applies, an operator
 * approves it in the console, the owner signs in with password + TOTP, creates a store and a till,
 * activates the till with the code shown on the spot, takes a payment from a wallet, finds it in the
 * portal, refunds part of it, and downloads the day's statement CSV. Screenshots in test-results/screens/.
 */
import { readFileSync } from 'node:fs';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { businessDate } from '../../src/payments/time.ts';
import { balanceOf, createCustomer } from '../payments/customer-fixtures.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { startWebKoban } from '../support/web-koban.ts';
import { scanningContext, seriousViolations } from './a11y-support.ts';
import { newOperator, signInThroughForm } from './console-support.ts';

let koban: Koban;
let close: () => Promise<void>;
let browser: Browser;
let base: string;
/** Waits are on the event itself; this bound only stops a broken run. */
const EVENT_BOUND_MS = 20_000;
const OWNER = { email: 'owner@kissa-hoshi.example.jp', password: 'hoshi coffee beans 2026' };

beforeAll(async () => {
  ({ koban, base, close } = await startWebKoban());
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await close();
});

async function newPage(width: number, height: number): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  return context.newPage();
}

describe('a merchant from application to its first refund', () => {
  it('applies, is approved, sets up a store and a till, takes a payment, refunds part of it and downloads the statement', async () => {
    // 1. The applicant, on a laptop, in Japanese (the default). axe-core scans each portal screen on the way.
    const portal = await (await scanningContext(browser, { width: 1280, height: 800 })).newPage();
    const a11yFailures: Record<string, unknown> = {};
    const scan = async (name: string) => {
      const violations = await seriousViolations(portal);
      if (violations.length > 0) a11yFailures[name] = violations;
    };
    await portal.goto(`${base}/merchant/apply`);
    await portal.getByRole('heading', { name: '加盟店申込' }).waitFor();
    const fill = async (label: string, value: string) => portal.getByLabel(label, { exact: true }).fill(value);
    await fill('屋号・法人名', '喫茶ほし');
    await fill('屋号（ローマ字、25文字まで）', 'Kissa Hoshi');
    await fill('法人番号（13桁）', '1234567890123');
    await fill('代表者名', '星野 花子');
    await fill('所在地', '東京都渋谷区神南1-1-1');
    await fill('連絡先メールアドレス', 'info@kissa-hoshi.example.jp');
    await fill('電話番号', '03-1111-2222');
    await fill('見込み月間取扱高（円）', '800000');
    await fill('口座番号（7桁）', '1234567');
    await fill('口座名義（カナ）', 'ｷｯｻﾎｼ');
    await fill('お名前', '星野 花子');
    await fill('メールアドレス', OWNER.email);
    await fill('パスワード（12文字以上）', OWNER.password);
    await screenshot(portal, 'merchant-apply');
    await scan('apply');
    await portal.getByRole('button', { name: '申し込む' }).click();
    const secretBox = portal.getByTestId('totp-secret');
    await secretBox.waitFor({ timeout: EVENT_BOUND_MS });
    const totpSecret = (await secretBox.textContent())!.trim();
    expect(totpSecret).toMatch(/^[A-Z2-7]{16,}$/);

    // 2. An operator approves it from the console's review queue.
    const support = await newOperator(koban, 'support');
    const consolePage = await newPage(1280, 800);
    await signInThroughForm(consolePage, base, support);
    await consolePage.getByRole('link', { name: 'Merchant review' }).click();
    const row = consolePage.getByRole('row').filter({ hasText: '喫茶ほし' });
    await row.waitFor({ timeout: EVENT_BOUND_MS });
    await screenshot(consolePage, 'console-merchant-review');
    await row.getByRole('button', { name: 'Approve' }).click();
    await consolePage.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await row.waitFor({ state: 'detached', timeout: EVENT_BOUND_MS });
    const merchant = await koban.db.pool.query<{ id: string; status: string }>(`select id, status from merchants where name = '喫茶ほし'`);
    expect(merchant.rows[0]?.status).toBe('active');

    // 3. The owner signs in with password and authenticator code.
    await portal.goto(`${base}/merchant/`);
    await portal.getByRole('heading', { name: '加盟店ログイン' }).waitFor();
    await scan('sign-in');
    await portal.getByLabel('メールアドレス').fill(OWNER.email);
    await portal.getByLabel('パスワード').fill(OWNER.password);
    await portal.getByLabel('認証コード').fill(await generate({ secret: totpSecret }));
    await portal.getByRole('button', { name: 'ログイン' }).click();
    await portal.getByRole('navigation', { name: 'メニュー' }).waitFor({ timeout: EVENT_BOUND_MS });

    // 4. A store and a till, and the till's activation code on the spot.
    await portal.getByRole('link', { name: '店舗と端末' }).click();
    await portal.getByLabel('店舗名').fill('喫茶ほし 渋谷店');
    await portal.getByLabel('郵便番号').fill('150-0041');
    await portal.getByLabel('住所').fill('神南1-1-1');
    await portal.getByLabel('市区町村', { exact: true }).fill('渋谷区');
    await portal.getByLabel('市区町村（ローマ字）').fill('Shibuya-ku');
    await portal.getByRole('button', { name: '追加する' }).click();
    await portal.getByRole('cell', { name: '喫茶ほし 渋谷店' }).waitFor({ timeout: EVENT_BOUND_MS });
    // Edit it: the address was mistyped.
    await portal.getByRole('button', { name: '編集' }).click();
    await portal.getByLabel('住所').fill('神南1-1-2');
    await portal.getByRole('button', { name: '保存' }).click();
    await portal.getByRole('cell', { name: /神南1-1-2/ }).waitFor({ timeout: EVENT_BOUND_MS });
    await portal.getByLabel('端末名').fill('レジ 1');
    await portal.getByRole('button', { name: '登録する' }).click();
    const tillRow = portal.getByRole('row').filter({ hasText: 'レジ 1' });
    await tillRow.waitFor({ timeout: EVENT_BOUND_MS });
    await tillRow.getByRole('button', { name: '有効化コード' }).click();
    const codeBox = portal.getByTestId('activation-code');
    await codeBox.waitFor({ timeout: EVENT_BOUND_MS });
    const activationCode = (await codeBox.textContent())!.trim();
    await screenshot(portal, 'merchant-stores');
    await scan('stores and tills');

    // 5. The tablet at the counter becomes the till with that code and takes a payment from a wallet.
    const till = await newPage(1024, 768);
    await till.goto(`${base}/till/`);
    await till.getByLabel('有効化コード').fill(activationCode);
    await till.getByRole('button', { name: '有効化する' }).click();
    await till.getByText('喫茶ほし 渋谷店 / レジ 1').waitFor({ timeout: EVENT_BOUND_MS });
    const customer = await createCustomer(koban.db, koban.ledger, 5_000n);
    const { code } = await koban.payments.payments.mintPaymentCode(customer);
    for (const key of ['1', '2', '00']) await till.getByRole('button', { name: key, exact: true }).click();
    await till.getByRole('button', { name: 'お支払いへ' }).click();
    await till.keyboard.type(code, { delay: 0 });
    await till.keyboard.press('Enter');
    await till.getByRole('status').filter({ hasText: 'お支払い完了' }).waitFor({ timeout: EVENT_BOUND_MS });
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(3_800n);

    // 6. The owner finds it in the portal's sales and refunds part of it, with a reason.
    await portal.getByRole('link', { name: '売上' }).click();
    await portal.getByLabel('検索（取引番号・金額）').fill('1200');
    const sale = portal.getByRole('row').filter({ hasText: '1,200円' });
    await sale.waitFor({ timeout: EVENT_BOUND_MS });
    await screenshot(portal, 'merchant-sales');
    await scan('sales');
    await sale.getByRole('link').click();
    await portal.getByRole('heading', { name: '1,200円' }).waitFor({ timeout: EVENT_BOUND_MS });
    await portal.getByRole('button', { name: '返金する' }).click();
    const dialog = portal.getByRole('dialog');
    await dialog.getByLabel('返金額（円）').fill('300');
    await dialog.getByLabel('理由').fill('ケーキの品切れ');
    await dialog.getByRole('button', { name: '実行する' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: EVENT_BOUND_MS });
    await portal.getByText('300 — ケーキの品切れ').waitFor({ timeout: EVENT_BOUND_MS });
    expect(await balanceOf(koban.ledger, customer.walletAccountId)).toBe(4_100n);
    await screenshot(portal, 'merchant-payment');
    await scan('payment');

    // 7. The day's statement, downloaded as CSV.
    await portal.getByRole('link', { name: '入金' }).click();
    const [download] = await Promise.all([portal.waitForEvent('download', { timeout: EVENT_BOUND_MS }), portal.getByTestId('today-csv').click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(download.suggestedFilename()).toBe(`koban-statement-${businessDate(new Date())}.csv`);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('type,payment_id,merchant_payment_id,merchant_refund_id,store_id,terminal_id,at,amount,fee');
    expect(lines.filter((l) => l.startsWith('payment,') && l.includes(',1200,'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('refund,') && l.includes(',-300,'))).toHaveLength(1);
    await screenshot(portal, 'merchant-money');
    await scan('money');

    // 8. Developers: a named test-mode key (issue 15), listed with its mode badge.
    await portal.getByRole('link', { name: '開発者' }).click();
    await portal.getByLabel('名前').fill('CI sandbox');
    await portal.getByLabel('モード').selectOption('test');
    await portal.getByRole('button', { name: 'APIキーを発行' }).click();
    await portal.getByRole('row').filter({ hasText: 'CI sandbox' }).getByText('テスト', { exact: true }).waitFor({ timeout: EVENT_BOUND_MS });
    // A test wallet with free test yen (it pays only the test mode), topped up once.
    await portal.getByLabel('ウォレット名').fill('QA iPhone');
    await portal.getByRole('button', { name: 'テスト用ウォレットを作成' }).click();
    const testWalletRow = portal.getByRole('row').filter({ hasText: 'QA iPhone' });
    await testWalletRow.getByText('10,000円', { exact: true }).waitFor({ timeout: EVENT_BOUND_MS });
    await testWalletRow.getByRole('button', { name: 'チャージ 10,000円' }).click();
    await testWalletRow.getByText('20,000円', { exact: true }).waitFor({ timeout: EVENT_BOUND_MS });
    await scan('developers');
    expect(a11yFailures).toEqual({});
  }, 180_000);
});

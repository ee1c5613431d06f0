/**
 * The merchant portal's management screens in a real Chromium (issue 16): staff passkeys (enrolled with
 * Chromium's virtual authenticator after a password + TOTP sign-in, then 「パスキーでサインイン」 alone), the staff
 * screen (add with a role, change the role, disable), webhook endpoints (edit URL and format, disable, enable),
 * the printable posters (PDF and PNG), and an applicant resubmitting after an operator asked for more — seen in
 * the console's review queue. axe-core scans each new screen. Screenshots in test-results/screens/.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { applyAsMerchant, review, STAFF_PASSWORD, type AppliedMerchant } from '../merchants/portal-support.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { launchBrowser, screenshot, SCREENSHOT_DIR } from '../support/browser.ts';
import { startWebKoban } from '../support/web-koban.ts';
import { scanningContext, seriousViolations } from './a11y-support.ts';
import { newOperator, signInThroughForm, virtualAuthenticator } from './console-support.ts';

let koban: Koban;
let close: () => Promise<void>;
let browser: Browser;
let base: string;
let reviewer: SignedInOperator;
/** Waits are on the event itself; this bound only stops a broken run. */
const EVENT_BOUND_MS = 20_000;

beforeAll(async () => {
  ({ koban, base, close } = await startWebKoban());
  browser = await launchBrowser();
  reviewer = await signInAs(koban, 'support');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await close();
});

async function portalPage(): Promise<{ page: Page; scan(name: string): Promise<void>; failures: Record<string, unknown> }> {
  const page = await (await scanningContext(browser, { width: 1280, height: 800 })).newPage();
  const failures: Record<string, unknown> = {};
  return { page, failures, async scan(name) { const found = await seriousViolations(page); if (found.length > 0) failures[name] = found; } };
}

async function signInWithPassword(page: Page, applied: AppliedMerchant): Promise<void> {
  await page.goto(`${base}/merchant/`);
  await page.getByRole('heading', { name: '加盟店ログイン' }).waitFor({ timeout: EVENT_BOUND_MS });
  await page.getByLabel('メールアドレス').fill(applied.email);
  await page.getByLabel('パスワード', { exact: true }).fill(STAFF_PASSWORD);
  await page.getByLabel('認証コード').fill(await generate({ secret: applied.totpSecret }));
  await page.getByRole('button', { name: 'ログイン' }).click();
}

describe('the merchant portal\'s management screens', () => {
  it('an owner enrols a passkey, signs in with it alone, manages staff and roles, edits a webhook endpoint and prints the posters', async () => {
    const applied = await applyAsMerchant(koban);
    expect((await review(koban, reviewer, applied.merchantId, 'approve', 'documents checked')).statusCode).toBe(200);
    const { page, scan, failures } = await portalPage();
    const authenticator = await virtualAuthenticator(page, { id: '', email: '', displayName: '', password: '', totpSecret: '', credentials: [] });
    await signInWithPassword(page, applied);
    await page.getByRole('navigation', { name: 'メニュー' }).waitFor({ timeout: EVENT_BOUND_MS });

    // 1. A passkey for this device, then sign out and back in with the passkey alone.
    await page.getByRole('link', { name: 'アカウント' }).click();
    await page.getByLabel('パスキーの名前').fill('店のノートPC');
    await page.getByRole('button', { name: 'パスキーを登録' }).click();
    await page.getByRole('cell', { name: '店のノートPC' }).waitFor({ timeout: EVENT_BOUND_MS });
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(credentials).toHaveLength(1);
    await screenshot(page, 'merchant-account-passkeys');
    await scan('account');
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.getByRole('button', { name: 'パスキーでサインイン' }).click();
    await page.getByRole('navigation', { name: 'メニュー' }).waitFor({ timeout: EVENT_BOUND_MS });
    const signIns = await koban.db.pool.query<{ method: string }>(
      `select details->>'method' as method from audit_events where action = 'merchant_user.sign_in' and outcome = 'success' and details->>'merchantId' = $1 order by id`, [applied.merchantId]);
    expect(signIns.rows.map((r) => r.method)).toEqual(['password_totp', 'passkey']);

    // 2. Staff: add a clerk, make them a manager, then disable them; the server holds each change.
    await page.getByRole('link', { name: 'スタッフ' }).click();
    await page.getByLabel('氏名').fill('佐藤 次郎');
    await page.getByLabel('メールアドレス').fill('jiro@kissa.example.jp');
    await page.getByLabel('ロール', { exact: true }).selectOption('clerk');
    await page.getByRole('button', { name: '追加する' }).click();
    await page.getByTestId('staff-password').waitFor({ timeout: EVENT_BOUND_MS });
    const staffRow = page.getByRole('row').filter({ hasText: 'jiro@kissa.example.jp' });
    await staffRow.getByRole('combobox').selectOption('manager');
    await expect.poll(async () => (await koban.db.pool.query<{ role: string }>(`select role from merchant_users where email = 'jiro@kissa.example.jp'`)).rows[0]?.role,
      { timeout: EVENT_BOUND_MS }).toBe('manager');
    await screenshot(page, 'merchant-staff');
    await scan('staff');
    await staffRow.getByRole('button', { name: '無効にする' }).click();
    await page.getByRole('dialog').getByRole('button', { name: '実行する' }).click();
    await staffRow.getByText('無効', { exact: true }).waitFor({ timeout: EVENT_BOUND_MS });
    expect((await koban.db.pool.query<{ status: string }>(`select status from merchant_users where email = 'jiro@kissa.example.jp'`)).rows[0]?.status).toBe('disabled');

    // 3. Webhooks: add an endpoint, change its URL and format, disable and enable it.
    await page.getByRole('link', { name: '開発者' }).click();
    await page.getByLabel('エンドポイントを追加').fill('https://hooks.kissa.example.jp/koban');
    await page.getByRole('button', { name: 'エンドポイントを追加' }).click();
    const endpointRow = page.getByRole('row').filter({ hasText: 'hooks.kissa.example.jp' });
    await endpointRow.waitFor({ timeout: EVENT_BOUND_MS });
    await endpointRow.getByRole('button', { name: '編集' }).click();
    const editor = page.getByRole('form', { name: 'エンドポイントを編集' });
    await editor.getByLabel('エンドポイントURL').fill('https://hooks.kissa.example.jp/paypay');
    await editor.getByLabel('形式').selectOption('paypay');
    await editor.getByRole('button', { name: '保存' }).click();
    const edited = page.getByRole('row').filter({ hasText: 'hooks.kissa.example.jp/paypay' });
    await edited.getByText('PayPay 互換').waitFor({ timeout: EVENT_BOUND_MS });
    await edited.getByRole('button', { name: '無効化' }).click();
    await edited.getByText('無効', { exact: true }).waitFor({ timeout: EVENT_BOUND_MS });
    await screenshot(page, 'merchant-developers');
    await scan('developers');
    await edited.getByRole('button', { name: '有効化' }).click();
    await edited.getByText('有効', { exact: true }).waitFor({ timeout: EVENT_BOUND_MS });
    const endpoint = await koban.db.pool.query<{ url: string; format: string; status: string }>(`select url, format, status from merchant_webhook_endpoints where merchant_id = $1`, [applied.merchantId]);
    expect(endpoint.rows).toEqual([{ url: 'https://hooks.kissa.example.jp/paypay', format: 'paypay', status: 'active' }]);

    // 4. A store and its posters: the links answer a PDF and a PNG with this session.
    await page.getByRole('link', { name: '店舗と端末' }).click();
    await page.getByLabel('店舗名').fill('喫茶ほし 渋谷店');
    await page.getByLabel('郵便番号').fill('150-0041');
    await page.getByLabel('住所').fill('神南1-1-1');
    await page.getByLabel('市区町村', { exact: true }).fill('渋谷区');
    await page.getByLabel('市区町村（ローマ字）').fill('Shibuya-ku');
    await page.getByRole('button', { name: '追加する' }).click();
    const storeRow = page.getByRole('row').filter({ hasText: '喫茶ほし 渋谷店' });
    const pdfLink = storeRow.getByRole('link', { name: 'QRポスター A4 PDF' });
    await pdfLink.waitFor({ timeout: EVENT_BOUND_MS });
    const pdf = await page.request.get(new URL((await pdfLink.getAttribute('href'))!, base).toString());
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect((await pdf.body()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pngHref = await storeRow.getByRole('link', { name: 'QRポスター A5 PNG' }).getAttribute('href');
    const png = await page.request.get(new URL(pngHref!, base).toString());
    expect(png.headers()['content-type']).toBe('image/png');
    writeFileSync(path.join(SCREENSHOT_DIR, 'merchant-poster-a5.png'), await png.body());
    await scan('stores');
    expect(failures).toEqual({});
  }, 180_000);

  it('an applicant sees the operator\'s request, resubmits the corrected application, and the console shows the new version', async () => {
    const applied = await applyAsMerchant(koban);
    expect((await review(koban, reviewer, applied.merchantId, 'ask_for_more', '代表者名が登記簿と異なります。登記どおりに訂正してください。')).statusCode).toBe(200);
    const { page, scan, failures } = await portalPage();
    await signInWithPassword(page, applied);
    await page.getByRole('heading', { name: '加盟店申込の再提出' }).waitFor({ timeout: EVENT_BOUND_MS });
    await page.getByText('代表者名が登記簿と異なります。').waitFor();
    await page.getByLabel('代表者名').fill('星野 花子');
    await page.getByLabel('依頼への回答').fill('登記簿のとおり代表者名を訂正しました');
    await screenshot(page, 'merchant-resubmit');
    await scan('resubmit');
    await page.getByRole('button', { name: '再提出する' }).click();
    await page.getByText('再提出を受け付けました').waitFor({ timeout: EVENT_BOUND_MS });
    expect((await koban.db.pool.query<{ representative: string; review_state: string }>('select representative, review_state from merchants where id = $1', [applied.merchantId])).rows[0])
      .toEqual({ representative: '星野 花子', review_state: 'pending' });

    const support = await newOperator(koban, 'support');
    const consolePage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signInThroughForm(consolePage, base, support);
    await consolePage.getByRole('link', { name: 'Merchant review' }).click();
    const row = consolePage.getByRole('row').filter({ hasText: applied.body.nameJa });
    await row.getByTestId('resubmission').getByText('Resubmitted v2').waitFor({ timeout: EVENT_BOUND_MS });
    await row.getByText('representative: 山田 太郎 → 星野 花子').waitFor();
    await row.getByText('登記簿のとおり代表者名を訂正しました').waitFor();
    await screenshot(consolePage, 'console-merchant-resubmitted');
    expect(failures).toEqual({});
  }, 180_000);
});

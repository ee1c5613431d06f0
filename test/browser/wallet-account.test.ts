// The wallet's account screens in a real Chromium against a real Koban: sign-up with codes from the
// development outbox, a second factor on every new browser, passkeys with Chromium's virtual
// authenticator, recovery that only ever writes to the verified contacts, and settings that fit a
// 360 px phone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generate } from 'otplib';
import { launchBrowser, overflowsHorizontally, screenshot } from '../support/browser.ts';
import { addVirtualAuthenticator, freePort, nextCode, outbox, startWalletKoban, uniqueContacts, type WalletKoban } from './wallet-account-helpers.ts';

const PASSWORD = 'lanterns drift down the kamo river';
const PHONE_VIEW = { width: 390, height: 844 };

let env: WalletKoban;
let browser: Browser;
const seen = new Set<string>();
const customer = { ...uniqueContacts(), password: PASSWORD };
let signedIn: { context: BrowserContext; page: Page } | null = null;

beforeAll(async () => {
  env = await startWalletKoban(await freePort());
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

const code = (to: string, kind: string) => nextCode(env.koban, env.base, to, kind, seen);

async function newPage(viewport = PHONE_VIEW): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'ja-JP' });
  context.setDefaultTimeout(10_000);
  return { context, page: await context.newPage() };
}

/** Answers the step-up dialog with an SMS code to `phone`. */
async function stepUpBySms(page: Page, phone: string): Promise<void> {
  const dialog = page.getByRole('dialog', { name: '本人確認' });
  await dialog.waitFor();
  await dialog.getByText('準備しています…').waitFor({ state: 'detached' });
  // With a passkey or an authenticator app the dialog offers those first; pick SMS.
  const smsMethod = dialog.getByRole('button', { name: 'SMS', exact: true });
  if ((await smsMethod.count()) > 0) await smsMethod.click();
  await dialog.getByRole('button', { name: 'コードを送信' }).click();
  await dialog.getByLabel('SMSで届いた6桁のコード').fill(await code(phone, 'step_up_code'));
  await dialog.getByRole('button', { name: '確認する' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** Answers the step-up dialog with the passkey (the page's virtual authenticator). */
async function stepUpByPasskey(page: Page): Promise<void> {
  const dialog = page.getByRole('dialog', { name: '本人確認' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'パスキーで確認' }).click();
  await dialog.waitFor({ state: 'detached' });
}

async function signInWithPassword(page: Page, identifier: string, password: string): Promise<void> {
  await page.goto(`${env.base}/wallet/sign-in`);
  await page.getByLabel('メールアドレスまたは電話番号').fill(identifier);
  await page.getByLabel('パスワード', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
}

describe('wallet account screens', () => {
  it('signs a customer up with the codes from the outbox, skips the passkey, then sets a charge PIN with no further code (the setup window)', async () => {
    const { context, page } = await newPage();
    await page.goto(`${env.base}/wallet/`);
    await page.getByRole('link', { name: '新規登録' }).click();
    await page.getByLabel('メールアドレス').fill(customer.email);
    await page.getByLabel('携帯電話番号').fill(customer.phone);
    // A blocklisted password is refused with the reason, before any code is sent.
    await page.getByLabel('パスワード').fill('password123');
    await page.getByRole('button', { name: '確認コードを送る' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('推測されやすい');
    await page.getByLabel('パスワード').fill(customer.password);
    await screenshot(page, 'wallet-sign-up');
    await page.getByRole('button', { name: '確認コードを送る' }).click();

    await page.getByLabel('メールに届いた6桁のコード').fill(await code(customer.email, 'signup_code'));
    await page.getByLabel('メールに届いた6桁のコード').press('Enter');
    await page.getByText('確認しました').waitFor();
    await page.getByLabel('SMSに届いた6桁のコード').fill(await code(customer.phone, 'signup_code'));
    await page.getByLabel('SMSに届いた6桁のコード').press('Enter');

    // Signed in: a passkey is offered (optional), then the charge PIN. The sign-up's own two codes cover
    // the PIN's step-up: no dialog, no third code.
    await page.getByRole('heading', { name: 'パスキーを登録' }).waitFor();
    await page.getByRole('button', { name: 'あとで' }).click();
    await page.getByText('登録が完了しました').waitFor();
    await page.getByLabel('新しいPIN（6桁）').fill('583920');
    await page.getByLabel('新しいPIN（確認）').fill('583920');
    await page.getByRole('button', { name: 'PINを保存' }).click();
    await page.getByText('PINを保存しました。').waitFor();
    expect(await page.getByRole('dialog', { name: '本人確認' }).count()).toBe(0);
    const factors = await page.evaluate<{ chargePin: string; passkeys: number }>("fetch('/v1/customer/factors').then((r) => r.json())");
    expect(factors).toMatchObject({ chargePin: 'set', passkeys: 0 });
    expect((await outbox(env.koban, env.base, customer.phone)).filter((m) => m.kind === 'step_up_code')).toEqual([]);
    await context.close();
  });

  it('offers a passkey right after the sign-up codes, registers it with no further code, and the PIN is then confirmed with it', async () => {
    const { context, page } = await newPage();
    const authenticator = await addVirtualAuthenticator(context, page);
    const newcomer = { ...uniqueContacts(), password: PASSWORD };
    await page.goto(`${env.base}/wallet/sign-up`);
    await page.getByLabel('メールアドレス').fill(newcomer.email);
    await page.getByLabel('携帯電話番号').fill(newcomer.phone);
    await page.getByLabel('パスワード').fill(newcomer.password);
    await page.getByRole('button', { name: '確認コードを送る' }).click();
    await page.getByLabel('メールに届いた6桁のコード').fill(await code(newcomer.email, 'signup_code'));
    await page.getByLabel('メールに届いた6桁のコード').press('Enter');
    await page.getByText('確認しました').waitFor();
    await page.getByLabel('SMSに届いた6桁のコード').fill(await code(newcomer.phone, 'signup_code'));
    await page.getByLabel('SMSに届いた6桁のコード').press('Enter');

    await page.getByRole('heading', { name: 'パスキーを登録' }).waitFor();
    await screenshot(page, 'wallet-sign-up-passkey');
    await page.getByRole('button', { name: 'パスキーを登録' }).click();
    await page.getByText('パスキーを登録しました。').waitFor();
    expect(await page.getByRole('dialog', { name: '本人確認' }).count()).toBe(0);
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(credentials).toHaveLength(1);

    // With a passkey on the account no SMS-strength shortcut applies: the PIN is confirmed with the passkey (a touch, no code).
    await page.getByRole('button', { name: '次へ（PINの設定）' }).click();
    await page.getByLabel('新しいPIN（6桁）').fill('602714');
    await page.getByLabel('新しいPIN（確認）').fill('602714');
    await page.getByRole('button', { name: 'PINを保存' }).click();
    await stepUpByPasskey(page);
    await page.getByText('PINを保存しました。').waitFor();
    const factors = await page.evaluate<{ chargePin: string; passkeys: number }>("fetch('/v1/customer/factors').then((r) => r.json())");
    expect(factors).toMatchObject({ chargePin: 'set', passkeys: 1 });
    expect((await outbox(env.koban, env.base, newcomer.phone)).filter((m) => m.kind === 'step_up_code')).toEqual([]);
    await context.close();
  });

  /** A password that is not right (or an account that does not exist) on a fresh browser: the second step, no SMS, one message. */
  async function failSecondStep(page: Page, identifier: string, password: string): Promise<string | null> {
    await signInWithPassword(page, identifier, password);
    await page.getByRole('heading', { name: '2段階目の確認' }).waitFor();
    await page.getByRole('button', { name: 'コードを送信' }).click();
    await page.getByText('パスワードが違っていた可能性があります').waitFor();
    await page.getByLabel('SMSで届いた6桁のコード').fill('123456');
    await page.getByRole('button', { name: '確認する' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('パスワードまたはコードが違います');
    return page.getByRole('alert').first().textContent();
  }

  it('answers an unknown account and a wrong password like a right one on a fresh browser (stuffing learns nothing), then says the password or the code was wrong', async () => {
    const { context, page } = await newPage();
    const codesBefore = (await outbox(env.koban, env.base, customer.phone)).filter((m) => m.kind === 'login_code').length;
    const unknown = await failSecondStep(page, 'nobody-here@example.com', customer.password);
    const wrong = await failSecondStep(page, customer.email, 'not the right password at all');
    expect(unknown).toBe(wrong);
    expect((await outbox(env.koban, env.base, customer.phone)).filter((m) => m.kind === 'login_code').length).toBe(codesBefore);
    await page.getByRole('button', { name: 'ログインをやり直す' }).click();
    await page.getByRole('heading', { name: 'ログイン', exact: true }).waitFor();

    await page.getByLabel('メールアドレスまたは電話番号').fill(customer.email);
    await page.getByLabel('パスワード', { exact: true }).fill(customer.password);
    await screenshot(page, 'wallet-sign-in');
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    await page.getByRole('heading', { name: '2段階目の確認' }).waitFor();
    await screenshot(page, 'wallet-second-factor');
    await page.getByRole('button', { name: 'コードを送信' }).click();
    await page.getByLabel('SMSで届いた6桁のコード').fill(await code(customer.phone, 'login_code'));
    await page.getByRole('button', { name: '確認する' }).click();
    // Signed in: /sign-in now sends the customer on, and settings open.
    await page.waitForURL(`${env.base}/wallet/`);
    await page.goto(`${env.base}/wallet/settings`);
    await page.getByRole('heading', { name: '設定' }).waitFor();
    await screenshot(page, 'wallet-settings');
    signedIn = { context, page };
  });

  it('enrols a passkey with the virtual authenticator, signs in with it alone on a new browser, and uses it for a step-up', async () => {
    if (signedIn === null) throw new Error('needs the signed-in browser of the previous test');
    const { context, page } = signedIn;
    const authenticator = await addVirtualAuthenticator(context, page);
    await page.goto(`${env.base}/wallet/settings/passkeys`);
    await page.getByLabel('パスキーの名前（任意）').fill('テスト端末');
    await page.getByRole('button', { name: 'パスキーを追加' }).click();
    await stepUpBySms(page, customer.phone);
    await page.getByText('パスキーを追加しました。').waitFor();
    await expect.poll(() => page.getByRole('listitem').filter({ hasText: 'テスト端末' }).count()).toBe(1);

    // The same passkey on another browser (as a synced passkey would be): no password, no SMS.
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
    expect(credentials).toHaveLength(1);
    const fresh = await newPage();
    const other = await addVirtualAuthenticator(fresh.context, fresh.page);
    await other.cdp.send('WebAuthn.addCredential', { authenticatorId: other.authenticatorId, credential: credentials[0]! });
    await fresh.page.goto(`${env.base}/wallet/sign-in`);
    await fresh.page.getByRole('button', { name: 'パスキーでログイン' }).click();
    await fresh.page.waitForURL(`${env.base}/wallet/`);

    // A step-up now offers the passkey first: new recovery codes, confirmed with it.
    await fresh.page.goto(`${env.base}/wallet/settings/recovery-codes`);
    await fresh.page.getByRole('button', { name: '新しいリカバリーコードを作成' }).click();
    const dialog = fresh.page.getByRole('dialog', { name: '本人確認' });
    await dialog.getByRole('button', { name: 'パスキーで確認' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => fresh.page.getByRole('list', { name: 'リカバリーコード一覧' }).getByRole('listitem').count()).toBe(10);
    // Synced back to the first browser with the counter the copy reached, as a synced passkey would be,
    // so the step-ups that now need it there (step-up policy) do not look like a cloned key.
    const { credentials: used } = await other.cdp.send('WebAuthn.getCredentials', { authenticatorId: other.authenticatorId });
    await authenticator.cdp.send('WebAuthn.removeCredential', { authenticatorId: authenticator.authenticatorId, credentialId: used[0]!.credentialId });
    await authenticator.cdp.send('WebAuthn.addCredential', { authenticatorId: authenticator.authenticatorId, credential: used[0]! });
    await fresh.context.close();
  });

  it('sets up an authenticator app from its QR code or secret, and changes the e-mail only after the new address proves itself', async () => {
    if (signedIn === null) throw new Error('needs the signed-in browser of an earlier test');
    const { page } = signedIn;
    await page.goto(`${env.base}/wallet/settings/totp`);
    await page.getByRole('button', { name: '認証アプリを設定' }).click();
    // With a passkey enrolled, changing factors takes the passkey, never SMS (step-up policy, issue 14).
    await stepUpByPasskey(page);
    const qr = page.getByRole('img', { name: '認証アプリ設定用のQRコード' });
    await qr.waitFor();
    // A string expression keeps DOM types out of the Node type-check (as in test/support/browser.ts).
    expect(await page.evaluate<boolean>("(() => { const img = document.querySelector('img.totp-qr'); return img.complete && img.naturalWidth > 0; })()")).toBe(true);
    const secret = (await page.getByLabel('設定キー').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await page.getByLabel('アプリに表示された6桁のコード').fill(await generate({ secret }));
    await page.getByRole('button', { name: '確認する' }).click();
    await page.getByText('認証アプリを設定しました。').waitFor();

    const newEmail = `new-${customer.email}`;
    await page.goto(`${env.base}/wallet/settings/contacts`);
    await page.getByLabel('新しいメールアドレス').fill(newEmail);
    await page.getByRole('button', { name: '変更する' }).nth(1).click();
    // With a passkey enrolled an e-mail change offers the passkey alone: no SMS, no authenticator app to choose.
    const dialog = page.getByRole('dialog', { name: '本人確認' });
    await dialog.getByRole('button', { name: 'パスキーで確認' }).waitFor();
    expect(await dialog.getByRole('group', { name: '確認方法' }).count()).toBe(0);
    expect(await dialog.getByRole('button', { name: 'SMS', exact: true }).count()).toBe(0);
    await stepUpByPasskey(page);
    await page.getByLabel('新しいメールアドレスに届いたコード').fill(await code(newEmail, 'contact_change_code'));
    await page.getByRole('button', { name: '確認する' }).click();
    await page.getByText('連絡先を変更しました。').waitFor();
    await expect.poll(() => page.getByText(newEmail, { exact: true }).count()).toBe(1);
    // The old address is told, with a way to undo it.
    expect((await outbox(env.koban, env.base, customer.email)).some((m) => m.kind === 'contact_changed_report')).toBe(true);
    customer.email = newEmail;

    // Password change: a too-short new password is refused with the reason before anything changes.
    await page.goto(`${env.base}/wallet/settings/password`);
    await page.getByLabel('現在のパスワード').fill(customer.password);
    await page.getByLabel('新しいパスワード').fill('short');
    await page.getByRole('button', { name: 'パスワードを変更' }).click();
    await stepUpByPasskey(page);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('短すぎます');
    await page.getByLabel('新しいパスワード').fill('paper cranes above the shrine');
    await page.getByRole('button', { name: 'パスワードを変更' }).click();
    await stepUpByPasskey(page);
    await page.getByText('パスワードを変更しました').waitFor();
    customer.password = 'paper cranes above the shrine';
  });

  it('every settings page opens from the settings list and fits a 360 px phone', async () => {
    if (signedIn === null) throw new Error('needs the signed-in browser of the previous test');
    const page = await signedIn.context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${env.base}/wallet/settings`);
    const links = page.getByRole('region', { name: 'アカウントとセキュリティ' }).getByRole('link');
    await links.first().waitFor();
    const count = await links.count();
    expect(count).toBe(8);
    expect(await overflowsHorizontally(page), '/settings overflows at 360 px').toBe(false);
    for (let i = 0; i < count; i++) {
      await page.goto(`${env.base}/wallet/settings`);
      const link = page.getByRole('region', { name: 'アカウントとセキュリティ' }).getByRole('link').nth(i);
      await link.click();
      const heading = page.getByRole('heading', { level: 2 }).first();
      await heading.waitFor();
      await expect.poll(() => page.getByRole('status').filter({ hasText: '読み込んでいます' }).count()).toBe(0);
      const path = new URL(page.url()).pathname;
      expect(path).toMatch(/^\/wallet\/settings\/[a-z-]+$/);
      expect(await page.getByText('ページが見つかりません').count(), path).toBe(0);
      expect(await overflowsHorizontally(page), `${path} overflows at 360 px`).toBe(false);
    }
    await page.goto(`${env.base}/wallet/settings/sessions`);
    await expect.poll(() => page.getByText('この端末').count()).toBeGreaterThan(0);
    await screenshot(page, 'wallet-settings-sessions-360');
    await page.close();
  });

  it('is installable: manifest icons load, the service worker controls /wallet/ and caches the shell but no API answer', async () => {
    const { context, page } = await newPage();
    await page.goto(`${env.base}/wallet/`);
    const manifest = await page.evaluate<{ icons: Array<{ src: string; sizes: string; type: string }>; scope: string; start_url: string }>(
      "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())");
    expect(manifest.scope).toBe('/wallet/');
    expect(manifest.icons.map((icon) => icon.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    for (const icon of manifest.icons.filter((i) => i.type === 'image/png')) {
      const response = await page.request.get(`${env.base}${icon.src}`);
      expect(response.status(), icon.src).toBe(200);
      expect(response.headers()['content-type']).toBe('image/png');
    }
    expect(await page.evaluate<string>("navigator.serviceWorker.ready.then((r) => r.scope)")).toBe(`${env.base}/wallet/`);
    // Once it controls the page, sign in (API calls go through it), then look inside its caches.
    await page.reload();
    await expect.poll(() => page.evaluate<boolean>('navigator.serviceWorker.controller !== null')).toBe(true);
    await page.goto(`${env.base}/wallet/sign-in`);
    await page.getByLabel('メールアドレスまたは電話番号').fill('nobody@example.com');
    await page.getByLabel('パスワード', { exact: true }).fill('whatever it is, it is wrong');
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    await page.getByRole('heading', { name: '2段階目の確認' }).waitFor();
    const cached = await page.evaluate<string[]>(
      "caches.keys().then((names) => Promise.all(names.map((n) => caches.open(n).then((c) => c.keys())))).then((lists) => lists.flat().map((r) => new URL(r.url).pathname))");
    expect(cached).toContain('/wallet/');
    expect(cached.some((path) => path.startsWith('/assets/'))).toBe(true);
    expect(cached.filter((path) => path.startsWith('/v1/') || path.startsWith('/dev/') || path === '/readyz')).toEqual([]);
    await context.close();
  });

  it('recovery offers no destination field and sends its codes only to the verified phone and e-mail', async () => {
    const { context, page } = await newPage({ width: 360, height: 740 });
    await page.goto(`${env.base}/wallet/sign-in`);
    await page.getByRole('link', { name: 'パスワードをお忘れの方' }).click();
    await page.getByRole('heading', { name: 'パスワードの再設定' }).waitFor();
    // One text box: the account's identifier. There is nowhere to type a destination.
    expect(await page.getByRole('textbox').count()).toBe(1);
    const before = { email: (await outbox(env.koban, env.base, customer.email)).length, phone: (await outbox(env.koban, env.base, customer.phone)).length };
    await page.getByLabel('メールアドレスまたは電話番号').fill(customer.email);
    await page.getByRole('button', { name: '確認コードを送る' }).click();
    await page.getByLabel('SMSのコード').fill(await code(customer.phone, 'recovery_code'));
    await page.getByLabel('メールのコード').fill(await code(customer.email, 'recovery_code'));
    const after = { email: await outbox(env.koban, env.base, customer.email), phone: await outbox(env.koban, env.base, customer.phone) };
    expect(after.email.length - before.email).toBe(1);
    expect(after.phone.length - before.phone).toBe(1);
    const allRecoveryMessages = (await outbox(env.koban, env.base, null)).filter((m) => m.kind === 'recovery_code');
    expect(new Set(allRecoveryMessages.map((m) => m.recipient))).toEqual(new Set([customer.email, customer.phone]));
    expect(await overflowsHorizontally(page)).toBe(false);

    customer.password = 'a new phrase for a new season';
    await page.getByLabel('新しいパスワード').fill(customer.password);
    await page.getByRole('button', { name: 'パスワードを再設定' }).click();
    await page.getByText('パスワードを再設定しました').waitFor();
    expect(await page.getByText('24時間').count()).toBe(1);
    // Every session ended, including the browser signed in earlier.
    if (signedIn !== null) {
      const status = await signedIn.page.evaluate<number>("fetch('/v1/customer/me').then((r) => r.status)");
      expect(status).toBe(401);
      await signedIn.context.close();
    }
    await context.close();
  });
});

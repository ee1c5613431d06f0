/**
 * The scan screen's camera path in a real Chromium: the "camera" is Chromium's fake capture device fed a
 * Y4M video of a store QR generated here, so getUserMedia, the canvas frames and jsQR run for real and
 * the wallet shows the store's merchant and name read from the picture, never from a pasted text.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import QRCode from 'qrcode';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../tools/chromium.ts';
import { overflowsHorizontally } from '../support/browser.ts';
import { ja, pageApi, signUpInBrowser, startMoneyEnv, type MoneyEnv } from './wallet-money-support.ts';

let env: MoneyEnv;
let browser: Browser;
let payload: string;

/** A few frames of a 640×480 YUV 4:2:0 video showing `text` as a QR code, black on white. */
function qrVideo(text: string): string {
  const width = 640;
  const height = 480;
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const size = qr.modules.size;
  const scale = Math.floor(Math.min(width, height) / (size + 8));
  const left = Math.floor((width - size * scale) / 2);
  const top = Math.floor((height - size * scale) / 2);
  const luma = Buffer.alloc(width * height, 235);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      if (!qr.modules.get(row, col)) continue;
      for (let y = 0; y < scale; y++) luma.fill(16, (top + row * scale + y) * width + left + col * scale, (top + row * scale + y) * width + left + (col + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  const file = path.join(tmpdir(), `koban-store-qr-${process.pid}.y4m`);
  writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`), frame, frame, frame]));
  return file;
}

beforeAll(async () => {
  env = await startMoneyEnv();
  payload = buildStaticQrPayload({ merchantId: env.merchant.merchantId, storeId: env.merchant.storeId, categoryCode: '5411', merchantName: 'Koban Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH, headless: true,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${qrVideo(payload)}`],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

it('reads a store QR from the camera (Chromium fake capture of a generated QR) and shows merchant and store before any amount', async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 780 } });
  await context.grantPermissions(['camera'], { origin: env.base });
  const page = await context.newPage();
  await signUpInBrowser(env, page);
  await page.goto(`${env.base}/wallet/scan`);
  await page.getByRole('button', { name: ja('money.scan.startCamera') }).click();
  const preview = page.getByTestId('scan-preview');
  await preview.getByText('Koban Mart').waitFor({ timeout: 15_000 });
  expect(await preview.textContent()).toContain('Main store');
  // Nothing is paid by reading: the amount is still to be typed and confirmed.
  expect(await page.getByLabel(ja('money.scan.amountLabel')).inputValue()).toBe('');
  expect((await pageApi<{ items: unknown[] }>(page, 'GET', '/v1/wallet/history')).json.items).toEqual([]);
  // The camera stops once a code is read.
  expect(await page.evaluate<number>('document.querySelectorAll("video").length')).toBe(0);
  expect(await overflowsHorizontally(page)).toBe(false);
  await context.close();
});

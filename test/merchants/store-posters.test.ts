/**
 * Store posters made on the server (issue 16): PNG and PDF, A5 and A4, with the store's Japanese name, Koban's
 * mark, the QR and the amount-entry instruction. The PNG is decoded (size, and its QR back to the store's EMVCo
 * payload), the PDF is read (header, page size in points, the embedded Japanese font and its text map).
 */
import { inflateSync } from 'node:zlib';
import jsQRModule from 'jsqr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTER_INSTRUCTION, posterPngSize } from '../../src/portal/poster.ts';
import type { Client } from '../identity/support.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { addStaff, approvedMerchant } from './portal-support.ts';

// jsqr is a webpack UMD bundle whose default export Node sees as `{ default }`; pngjs ships no types.
type JsQR = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: JsQR }).default ?? jsQRModule) as unknown as JsQR;
interface DecodedPng { width: number; height: number; data: Buffer }
const { PNG } = (await import('pngjs' as string)) as { PNG: { sync: { read(buffer: Buffer): DecodedPng } } };

const STORE_NAME = '渋谷道玄坂店';
let env: Awaited<ReturnType<typeof startTestKoban>>;
let reviewer: SignedInOperator;
let owner: Client;
let storeId: string;
let storePayload: string;

beforeAll(async () => {
  env = await startTestKoban();
  reviewer = await signInAs(env.koban, 'support');
  owner = (await approvedMerchant(env.koban, reviewer)).owner;
  const store = await owner.request({ method: 'POST', url: '/v1/merchant/stores', body: { name: STORE_NAME, address: '道玄坂2-1', city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0043' } });
  expect(store.statusCode, store.body).toBe(201);
  storeId = store.json().id;
  // The store's payload, from the bare QR the portal serves.
  storePayload = decodeQr((await get(owner, `/v1/merchant/stores/${storeId}/qr.png`)).rawPayload);
  expect(storePayload).toMatch(/^000201/);
  expect(storePayload).toContain('Shibuya-ku');
});
afterAll(async () => {
  await env?.close();
});

const get = (client: Client, url: string) => client.request({ method: 'GET', url });

function decodeQr(png: Buffer): string {
  const image = PNG.sync.read(png);
  const decoded = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
  expect(decoded, 'a QR code is found in the image').not.toBeNull();
  return decoded?.data ?? '';
}

/** The code points a PDF's ToUnicode maps declare: the text its embedded fonts can show, decompressed and read. */
function pdfTextCodePoints(pdf: Buffer): Set<number> {
  const points = new Set<number>();
  for (const match of pdf.toString('latin1').matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
    let content: string;
    try {
      content = inflateSync(Buffer.from(match[1] ?? '', 'latin1')).toString('latin1');
    } catch {
      continue;
    }
    if (!content.includes('begincmap')) continue;
    for (const range of content.matchAll(/<[0-9a-f]{4}>\s*<[0-9a-f]{4}>\s*\[([^\]]*)\]/gi)) {
      for (const target of (range[1] ?? '').matchAll(/<([0-9a-f]{4})/gi)) points.add(Number.parseInt(target[1] ?? '0', 16));
    }
  }
  return points;
}

describe('store posters, server-side', () => {
  for (const size of ['A5', 'A4'] as const) {
    it(`the ${size} PNG poster decodes at its paper size, and its QR reads back as the store's payload`, async () => {
      const response = await get(owner, `/v1/merchant/stores/${storeId}/poster.png?size=${size}`);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-type']).toBe('image/png');
      const image = PNG.sync.read(response.rawPayload);
      expect({ width: image.width, height: image.height }).toEqual(posterPngSize(size));
      expect({ width: image.width, height: image.height }).toEqual(size === 'A5' ? { width: 874, height: 1240 } : { width: 1240, height: 1754 });
      expect(decodeQr(response.rawPayload)).toBe(storePayload);
    });

    it(`the ${size} PDF poster is one page of exactly ${size} with the Japanese font embedded and the store name and instruction in its text`, async () => {
      const response = await get(owner, `/v1/merchant/stores/${storeId}/poster.pdf?size=${size}`);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-type']).toBe('application/pdf');
      const pdf = response.rawPayload;
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(pdf.subarray(-6).toString('latin1')).toMatch(/%%EOF\s*$/);
      const raw = pdf.toString('latin1');
      expect(raw.match(/\/MediaBox \[[^\]]*\]/g)).toEqual([size === 'A5' ? '/MediaBox [0 0 419.53 595.28]' : '/MediaBox [0 0 595.28 841.89]']);
      expect(raw).toMatch(/\/BaseFont \/[A-Z]{6}\+NotoSansJP-Bold/);
      expect(raw).toContain('/FontFile3');
      const text = pdfTextCodePoints(pdf);
      for (const character of [...STORE_NAME, ...POSTER_INSTRUCTION, ...'Koban']) expect(text.has(character.codePointAt(0) ?? 0), character).toBe(true);
    });
  }

  it('a clerk may print the poster; another merchant\'s store is not found and bad sizes are refused', async () => {
    const clerk = await addStaff(env.koban, owner, 'clerk');
    expect((await get(clerk.client, `/v1/merchant/stores/${storeId}/poster.pdf`)).statusCode).toBe(200);
    const stranger = (await approvedMerchant(env.koban, reviewer)).owner;
    for (const format of ['png', 'pdf', 'svg']) {
      const foreign = await get(stranger, `/v1/merchant/stores/${storeId}/poster.${format}`);
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json().code).toBe('store_not_found');
    }
    const badSize = await get(owner, `/v1/merchant/stores/${storeId}/poster.pdf?size=B5`);
    expect(badSize.statusCode).toBe(400);
  });
});

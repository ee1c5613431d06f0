/**
 * The store's printable static QR, made on the server: the bare code as PNG (qrcode's own encoder, error
 * correction M), and an A5 or A4 poster with the store name in Japanese, Koban's mark, the QR and the
 * amount-entry instruction, as SVG (for the browser), PNG (the SVG rasterised by resvg at 150 dpi) and PDF
 * (pdfkit, vector, the exact paper size). The PNG and the PDF carry their own Japanese font: Noto Sans JP
 * Bold (SIL Open Font License 1.1, `fonts/OFL.txt`), shipped in the repository so no machine needs a font
 * package and nothing is downloaded; pdfkit embeds only the glyphs a poster uses. Nothing is drawn by hand
 * but the layout; the QR matrix comes from qrcode, in every format the same modules.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderAsync } from '@resvg/resvg-js';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';

export type PosterSize = 'A5' | 'A4';
export const POSTER_SIZES_MM: Record<PosterSize, { width: number; height: number }> = { A5: { width: 148, height: 210 }, A4: { width: 210, height: 297 } };
/** PNG posters are rendered at this resolution: print quality at A5 and A4, a QR module several pixels wide. */
export const POSTER_PNG_DPI = 150;
export const POSTER_FONT_FILE = fileURLToPath(new URL('./fonts/NotoSansJP-Bold.otf', import.meta.url));
const POSTER_FONT_FAMILY = 'Noto Sans JP';
export const POSTER_INSTRUCTION = '金額を入力してお支払いください';
const GOLD = '#b8860b';
const MM_TO_PT = 72 / 25.4;

export interface PosterInput { readonly payload: string; readonly storeName: string; readonly merchantName: string; readonly size: PosterSize }

export function storeQrPng(payload: string): Promise<Buffer> {
  return QRCode.toBuffer(payload, { type: 'png', errorCorrectionLevel: 'M', margin: 4, width: 1024 });
}

/** The poster's layout in millimetres, shared by the SVG and the PDF. */
function layout(input: PosterInput) {
  const { width, height } = POSTER_SIZES_MM[input.size];
  const qrSize = width * 0.62;
  const qrY = height * 0.3;
  // A long store name gets smaller rather than running off the page (a full-width character is about 1 em).
  const nameSize = Math.min(height * 0.042, (width * 0.88) / Math.max(1, [...input.storeName].length));
  // The quiet zone a scanner needs: four modules of white around the code, inside the frame.
  const quiet = (4 * qrSize) / qrMatrix(input.payload).count;
  return {
    width, height, qrSize, qrX: (width - qrSize) / 2, qrY, nameSize, quiet,
    band: height * 0.12, markX: width * 0.14, markY: height * 0.06, markR: height * 0.035, titleX: width * 0.24,
    nameY: height * 0.19, merchantY: height * 0.235, merchantSize: Math.min(height * 0.022, (width * 0.88) / Math.max(1, [...input.merchantName].length)),
    line1Y: qrY + qrSize + height * 0.07, line2Y: qrY + qrSize + height * 0.11, instructionSize: height * 0.03,
    englishY: qrY + qrSize + height * 0.15, englishSize: height * 0.018,
  };
}

function qrMatrix(payload: string): { count: number; dark: (row: number, col: number) => boolean } {
  const qr = QRCode.create(payload, { errorCorrectionLevel: 'M' });
  return { count: qr.modules.size, dark: (row, col) => qr.modules.get(row, col) === 1 };
}

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** One rectangle per dark module, in millimetres: exact and scalable, no raster in the poster. */
function qrModules(payload: string, x: number, y: number, size: number): string {
  const { count, dark } = qrMatrix(payload);
  const cell = size / count;
  const rects: string[] = [];
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (dark(row, col)) rects.push(`M${(x + col * cell).toFixed(3)} ${(y + row * cell).toFixed(3)}h${cell.toFixed(3)}v${cell.toFixed(3)}h-${cell.toFixed(3)}z`);
    }
  }
  return `<path fill="#111" d="${rects.join('')}"/>`;
}

export function storePosterSvg(input: PosterInput): string {
  const l = layout(input);
  const font = `font-family="'${POSTER_FONT_FAMILY}','Noto Sans CJK JP','Hiragino Sans',sans-serif"`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}mm" height="${l.height}mm" viewBox="0 0 ${l.width} ${l.height}" lang="ja">
  <title>${escapeXml(input.storeName)} — Koban QR</title>
  <rect width="${l.width}" height="${l.height}" fill="#fff"/>
  <rect x="0" y="0" width="${l.width}" height="${l.band}" fill="${GOLD}"/>
  <circle cx="${l.markX}" cy="${l.markY}" r="${l.markR}" fill="#fff"/>
  <text x="${l.markX}" y="${l.height * 0.072}" text-anchor="middle" font-size="${l.height * 0.035}" font-weight="700" fill="${GOLD}" ${font}>小</text>
  <text x="${l.titleX}" y="${l.height * 0.075}" font-size="${l.height * 0.045}" font-weight="700" fill="#fff" ${font}>Koban</text>
  <text x="${l.width / 2}" y="${l.nameY}" text-anchor="middle" font-size="${l.nameSize}" font-weight="700" fill="#111" ${font}>${escapeXml(input.storeName)}</text>
  <text x="${l.width / 2}" y="${l.merchantY}" text-anchor="middle" font-size="${l.merchantSize}" fill="#444" ${font}>${escapeXml(input.merchantName)}</text>
  <rect x="${l.qrX - l.quiet}" y="${l.qrY - l.quiet}" width="${l.qrSize + 2 * l.quiet}" height="${l.qrSize + 2 * l.quiet}" fill="#fff" stroke="${GOLD}" stroke-width="1"/>
  ${qrModules(input.payload, l.qrX, l.qrY, l.qrSize)}
  <text x="${l.width / 2}" y="${l.line1Y}" text-anchor="middle" font-size="${l.instructionSize}" font-weight="700" fill="#111" ${font}>Koban アプリでスキャンして</text>
  <text x="${l.width / 2}" y="${l.line2Y}" text-anchor="middle" font-size="${l.instructionSize}" font-weight="700" fill="#111" ${font}>${POSTER_INSTRUCTION}</text>
  <text x="${l.width / 2}" y="${l.englishY}" text-anchor="middle" font-size="${l.englishSize}" fill="#444" ${font}>Scan with the Koban app, enter the amount, show the screen to the staff</text>
</svg>
`;
}

/** The pixel size of a PNG poster: the paper size at POSTER_PNG_DPI. */
export function posterPngSize(size: PosterSize): { width: number; height: number } {
  const mm = POSTER_SIZES_MM[size];
  return { width: Math.round((mm.width / 25.4) * POSTER_PNG_DPI), height: Math.round((mm.height / 25.4) * POSTER_PNG_DPI) };
}

/**
 * The SVG poster rasterised with the shipped font only (no system font is looked up, so every machine draws the
 * same). resvg renders on libuv's thread pool: the event loop keeps serving other requests meanwhile.
 */
export async function storePosterPng(input: PosterInput): Promise<Buffer> {
  const target = posterPngSize(input.size);
  const rendered = await renderAsync(storePosterSvg(input), {
    font: { fontFiles: [POSTER_FONT_FILE], loadSystemFonts: false, defaultFontFamily: POSTER_FONT_FAMILY },
    fitTo: { mode: 'width', value: target.width }, background: '#ffffff',
  });
  return rendered.asPng();
}

type ParsedFont = ReturnType<typeof fontkit.create>;
let parsedFont: ParsedFont | null = null;
/**
 * Parsed once per process (4.5 MB of CFF; parsing it per PDF cost most of a poster's time). pdfkit takes a fontkit
 * font as it is and subsets it into each document.
 */
function posterFont(): ParsedFont {
  parsedFont ??= fontkit.create(readFileSync(POSTER_FONT_FILE));
  return parsedFont;
}

/** The same poster as a vector PDF of exactly A5 or A4, the text in the embedded (subset) Japanese font. */
export function storePosterPdf(input: PosterInput): Promise<Buffer> {
  const l = layout(input);
  const pt = (mm: number) => mm * MM_TO_PT;
  const doc = new PDFDocument({ size: input.size, margin: 0, info: { Title: `${input.storeName} — Koban QR`, Author: 'Koban', Subject: POSTER_INSTRUCTION } });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  // pdfkit's types name only file sources; its font factory also takes a fontkit font (anything with `layout`).
  doc.registerFont(POSTER_FONT_FAMILY, posterFont() as unknown as Buffer);
  doc.font(POSTER_FONT_FAMILY);
  // The SVG gives baselines: pdfkit places each line on the same alphabetic baseline.
  const centred = (text: string, baselineMm: number, sizeMm: number, color: string, xMm = l.width / 2, align: 'center' | 'left' = 'center') => {
    doc.fontSize(pt(sizeMm)).fillColor(color);
    const width = doc.widthOfString(text);
    const x = align === 'center' ? pt(xMm) - width / 2 : pt(xMm);
    doc.text(text, x, pt(baselineMm), { lineBreak: false, baseline: 'alphabetic' });
  };
  doc.rect(0, 0, pt(l.width), pt(l.band)).fill(GOLD);
  doc.circle(pt(l.markX), pt(l.markY), pt(l.markR)).fill('#ffffff');
  centred('小', l.height * 0.072, l.height * 0.035, GOLD, l.markX);
  centred('Koban', l.height * 0.075, l.height * 0.045, '#ffffff', l.titleX, 'left');
  centred(input.storeName, l.nameY, l.nameSize, '#111111');
  centred(input.merchantName, l.merchantY, l.merchantSize, '#444444');
  doc.lineWidth(pt(1)).rect(pt(l.qrX - l.quiet), pt(l.qrY - l.quiet), pt(l.qrSize + 2 * l.quiet), pt(l.qrSize + 2 * l.quiet)).fillAndStroke('#ffffff', GOLD);
  const { count, dark } = qrMatrix(input.payload);
  const cell = l.qrSize / count;
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (dark(row, col)) doc.rect(pt(l.qrX + col * cell), pt(l.qrY + row * cell), pt(cell) + 0.05, pt(cell) + 0.05);
    }
  }
  doc.fill('#111111');
  centred('Koban アプリでスキャンして', l.line1Y, l.instructionSize, '#111111');
  centred(POSTER_INSTRUCTION, l.line2Y, l.instructionSize, '#111111');
  centred('Scan with the Koban app, enter the amount, show the screen to the staff', l.englishY, l.englishSize, '#444444');
  doc.end();
  return done;
}

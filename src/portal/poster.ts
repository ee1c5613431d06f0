/**
 * The store's printable static QR, made on the server: the bare code as PNG (qrcode's own encoder, error
 * correction M), and an A5 or A4 poster as SVG with the store name in Japanese, Koban's mark and the
 * amount-entry instruction (browsers print SVG at its physical size; text uses the system's Japanese
 * font, e.g. Noto Sans CJK). Nothing is drawn by hand but the layout; the QR matrix comes from qrcode.
 */
import QRCode from 'qrcode';

export type PosterSize = 'A5' | 'A4';
const SIZES: Record<PosterSize, { width: number; height: number }> = { A5: { width: 148, height: 210 }, A4: { width: 210, height: 297 } };

export function storeQrPng(payload: string): Promise<Buffer> {
  return QRCode.toBuffer(payload, { type: 'png', errorCorrectionLevel: 'M', margin: 4, width: 1024 });
}

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** One rectangle per dark module, in millimetres: exact and scalable, no raster in the poster. */
function qrModules(payload: string, x: number, y: number, size: number): string {
  const qr = QRCode.create(payload, { errorCorrectionLevel: 'M' });
  const count = qr.modules.size;
  const cell = size / count;
  const rects: string[] = [];
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.modules.get(row, col) === 1) rects.push(`M${(x + col * cell).toFixed(3)} ${(y + row * cell).toFixed(3)}h${cell.toFixed(3)}v${cell.toFixed(3)}h-${cell.toFixed(3)}z`);
    }
  }
  return `<path fill="#111" d="${rects.join('')}"/>`;
}

export function storePosterSvg(input: { payload: string; storeName: string; merchantName: string; size: PosterSize }): string {
  const { width, height } = SIZES[input.size];
  const qrSize = width * 0.62;
  const qrX = (width - qrSize) / 2;
  const qrY = height * 0.3;
  const font = `font-family="'Noto Sans CJK JP','Noto Sans JP','Hiragino Sans',sans-serif"`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}mm" height="${height}mm" viewBox="0 0 ${width} ${height}" lang="ja">
  <title>${escapeXml(input.storeName)} — Koban QR</title>
  <rect width="${width}" height="${height}" fill="#fff"/>
  <rect x="0" y="0" width="${width}" height="${height * 0.12}" fill="#b8860b"/>
  <circle cx="${width * 0.14}" cy="${height * 0.06}" r="${height * 0.035}" fill="#fff"/>
  <text x="${width * 0.14}" y="${height * 0.072}" text-anchor="middle" font-size="${height * 0.035}" font-weight="700" fill="#b8860b" ${font}>小</text>
  <text x="${width * 0.24}" y="${height * 0.075}" font-size="${height * 0.045}" font-weight="700" fill="#fff" ${font}>Koban</text>
  <text x="${width / 2}" y="${height * 0.19}" text-anchor="middle" font-size="${height * 0.042}" font-weight="700" fill="#111" ${font}>${escapeXml(input.storeName)}</text>
  <text x="${width / 2}" y="${height * 0.235}" text-anchor="middle" font-size="${height * 0.022}" fill="#444" ${font}>${escapeXml(input.merchantName)}</text>
  <rect x="${qrX - 4}" y="${qrY - 4}" width="${qrSize + 8}" height="${qrSize + 8}" fill="#fff" stroke="#b8860b" stroke-width="1"/>
  ${qrModules(input.payload, qrX, qrY, qrSize)}
  <text x="${width / 2}" y="${qrY + qrSize + height * 0.07}" text-anchor="middle" font-size="${height * 0.03}" font-weight="700" fill="#111" ${font}>Koban アプリでスキャンして</text>
  <text x="${width / 2}" y="${qrY + qrSize + height * 0.11}" text-anchor="middle" font-size="${height * 0.03}" font-weight="700" fill="#111" ${font}>金額を入力してお支払いください</text>
  <text x="${width / 2}" y="${qrY + qrSize + height * 0.15}" text-anchor="middle" font-size="${height * 0.018}" fill="#444" ${font}>Scan with the Koban app, enter the amount, show the screen to the staff</text>
</svg>
`;
}

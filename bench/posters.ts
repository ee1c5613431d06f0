/**
 * `npm exec -- node bench/posters.ts`: what one store poster costs to make on the server, per format and
 * size (src/portal/poster.ts): SVG (string), PNG (resvg at 150 dpi on the thread pool, the shipped Japanese font) and
 * PDF (pdfkit, the font parsed once per process and subset-embedded), one caller, after one warm-up each. Figures only: p50, p99, bytes.
 *
 * Environment: KOBAN_BENCH_POSTERS (per cell, default 20).
 */
import { storePosterPdf, storePosterPng, storePosterSvg, type PosterInput, type PosterSize } from '../src/portal/poster.ts';
import { LatencyRecorder } from './report.ts';

const RUNS = Number(process.env.KOBAN_BENCH_POSTERS ?? 20);
// A realistic store payload (EMVCo MPM with the Japanese language template), about 150 characters.
const PAYLOAD = '00020101021126480016jp.koban.store0136018f7c2a-1b2c-7d3e-8f40-5a6b7c8d9e0f5204541153033925802JP5915KOBAN SHOTEN 016009Shibuya-ku6108150004364220002JA0106渋谷店0203渋谷区6304ABCD';

async function measure(make: (input: PosterInput) => Promise<Buffer | string>, size: PosterSize): Promise<{ p50: number; p99: number; bytes: number }> {
  const input: PosterInput = { payload: PAYLOAD, storeName: '喫茶ほし 渋谷道玄坂店', merchantName: '株式会社こばん商店', size };
  await make(input);
  const recorder = new LatencyRecorder();
  let bytes = 0;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const output = await make(input);
    recorder.record(performance.now() - started);
    bytes = Buffer.byteLength(output);
  }
  return { p50: recorder.percentile(50), p99: recorder.percentile(99), bytes };
}

const formats = {
  svg: async (input: PosterInput) => storePosterSvg(input),
  png: storePosterPng,
  pdf: storePosterPdf,
} as const;
console.log(`posters, ${RUNS} runs per cell, one caller`);
console.log('format size   p50 ms   p99 ms    bytes');
for (const [format, make] of Object.entries(formats)) {
  for (const size of ['A5', 'A4'] as const) {
    const { p50, p99, bytes } = await measure(make, size);
    console.log(`${format.padEnd(6)} ${size.padEnd(4)} ${p50.toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(8)} ${String(bytes).padStart(8)}`);
  }
}

/**
 * The load generator of `npm run bench:pay`, in its own process (forked, IPC to the orchestrator), so
 * its CPU is measured apart from Koban's. A payment is what a customer and a till do: the wallet app
 * mints a one-time code (`POST /v1/wallet/payment-codes`, the customer's session cookie and CSRF token)
 * and the till charges it (`POST /v2/till/payments`, OPA-Auth signed, over HTTPS with the dev CA).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import * as hdr from 'hdr-histogram-js';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import type { CellResult, CellSpec, FromLoad, LoadSetup, ToLoad } from './protocol.ts';

const HISTOGRAM_MAX_US = 3_600_000_000;
const PREMINT_CONCURRENCY = 32;
const REQUEST_TIMEOUT_MS = 60_000;
const SESSION_COOKIE = '__Host-koban_session';
const WARMUP_MAX_MS = 60_000;

interface Customer { readonly token: string; readonly csrf: string }
interface Answer { readonly status: number; readonly body: string }

let setup: LoadSetup;
let customers: Customer[] = [];
let nextCustomer = 0;
let paymentSeq = 0;
const runTag = randomBytes(4).toString('hex');
let goSignal: (() => void) | null = null;

function send(message: FromLoad): void {
  process.send?.(message);
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HISTOGRAM_MAX_US, numberOfSignificantValueDigits: 3 });
}

function request(client: typeof http | typeof https, agent: http.Agent, url: URL, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = client.request(url, { method: 'POST', agent, timeout: REQUEST_TIMEOUT_MS, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => resolve({ status: 0, body: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: `network: ${error.message}` }));
    req.end(body);
  });
}

class Client {
  private readonly opaAgent: https.Agent;
  private readonly walletAgent: http.Agent;
  private readonly opaUrl: URL;
  private readonly mintUrl: URL | null;

  constructor(sockets: number, path: string) {
    this.opaAgent = new https.Agent({ keepAlive: true, maxSockets: sockets, ca: readFileSync(setup.caPath) });
    this.walletAgent = new http.Agent({ keepAlive: true, maxSockets: sockets });
    this.opaUrl = new URL(path, setup.opaBase);
    this.mintUrl = setup.walletBase === null ? null : new URL('/v1/wallet/payment-codes', setup.walletBase);
  }

  async mint(): Promise<{ code: string } | { failure: string }> {
    if (this.mintUrl === null || customers.length === 0) throw new Error('minting needs the wallet API and customers');
    const customer = customers[nextCustomer++ % customers.length] as Customer;
    const answer = await request(http, this.walletAgent, this.mintUrl, { cookie: `${SESSION_COOKIE}=${customer.token}`, 'x-csrf-token': customer.csrf }, '{}');
    if (answer.status !== 200) return { failure: `mint ${answer.status} ${problemCode(answer.body)}` };
    return { code: (JSON.parse(answer.body) as { code: string }).code };
  }

  async charge(code: string): Promise<string | null> {
    const { credential } = setup;
    const body = JSON.stringify({ merchantPaymentId: `b${runTag}-${paymentSeq++}`, code, amount: { amount: setup.amountMinor, currency: 'JPY' }, storeId: credential.storeId, terminalId: credential.terminalId });
    const answer = await this.signedPost(body);
    return answer.status === 200 && answer.body.includes('"SUCCESS"') ? null : `charge ${answer.status} ${resultCode(answer.body)}`;
  }

  async noop(): Promise<string | null> {
    const answer = await this.signedPost(JSON.stringify({ merchantPaymentId: `b${runTag}-${paymentSeq++}`, amount: { amount: setup.amountMinor, currency: 'JPY' } }));
    return answer.status === 200 ? null : `noop ${answer.status} ${resultCode(answer.body)}`;
  }

  private signedPost(body: string): Promise<Answer> {
    const { credential } = setup;
    const authorization = computeOpaAuthHeader({
      apiKey: credential.apiKey, apiSecret: credential.apiSecret, method: 'POST', path: this.opaUrl.pathname,
      nonce: randomBytes(8).toString('hex'), epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
    });
    return request(https, this.opaAgent, this.opaUrl, { authorization }, body);
  }

  close(): void {
    this.opaAgent.destroy();
    this.walletAgent.destroy();
  }
}

function problemCode(body: string): string {
  try {
    return String((JSON.parse(body) as { code?: unknown }).code ?? '');
  } catch {
    return body.slice(0, 60);
  }
}

function resultCode(body: string): string {
  try {
    return String((JSON.parse(body) as { resultInfo?: { code?: unknown } }).resultInfo?.code ?? '');
  } catch {
    return body.slice(0, 60);
  }
}

/** One unit of work; answers its timings or a failure label. */
type Work = (premint: string[]) => Promise<{ failure: string | null; mintUs: number; chargeUs: number }>;

function workFor(spec: CellSpec, client: Client): Work {
  if (spec.work === 'noop') {
    return async () => {
      const t0 = performance.now();
      const failure = await client.noop();
      return { failure, mintUs: 0, chargeUs: (performance.now() - t0) * 1000 };
    };
  }
  return async (premint) => {
    const t0 = performance.now();
    let code = spec.work === 'charge' ? premint.pop() : undefined;
    let mintUs = 0;
    if (code === undefined) {
      if (spec.work === 'charge') return { failure: 'out of pre-minted codes', mintUs: 0, chargeUs: 0 };
      const minted = await client.mint();
      mintUs = (performance.now() - t0) * 1000;
      if ('failure' in minted) return { failure: minted.failure, mintUs, chargeUs: 0 };
      code = minted.code;
    }
    const t1 = performance.now();
    const failure = await client.charge(code);
    return { failure, mintUs, chargeUs: (performance.now() - t1) * 1000 };
  };
}

async function premintCodes(client: Client, count: number): Promise<string[]> {
  const codes: string[] = [];
  let started = 0;
  await Promise.all(Array.from({ length: PREMINT_CONCURRENCY }, async () => {
    while (started < count) {
      started++;
      const minted = await client.mint();
      if ('code' in minted) codes.push(minted.code);
    }
  }));
  return codes;
}

class Window {
  startMs = Number.POSITIVE_INFINITY;
  endMs = Number.POSITIVE_INFINITY;
  completed = 0;
  succeeded = 0;
  notSent = 0;
  offered = 0;
  readonly failures: Record<string, number> = {};
  readonly total = newHistogram();
  readonly charge = newHistogram();
  readonly mint = newHistogram();
  readonly totalUncorrected = newHistogram();

  inWindow(atMs: number): boolean {
    return atMs >= this.startMs && atMs <= this.endMs;
  }

  record(doneMs: number, scheduledMs: number, sentMs: number, outcome: Awaited<ReturnType<Work>>): void {
    if (!this.inWindow(doneMs)) return;
    this.completed++;
    if (outcome.failure === null) this.succeeded++;
    else this.failures[outcome.failure] = (this.failures[outcome.failure] ?? 0) + 1;
    this.total.recordValue(Math.max(1, Math.round((doneMs - scheduledMs) * 1000)));
    this.totalUncorrected.recordValue(Math.max(1, Math.round((doneMs - sentMs) * 1000)));
    if (outcome.chargeUs > 0) this.charge.recordValue(Math.max(1, Math.round(outcome.chargeUs)));
    if (outcome.mintUs > 0) this.mint.recordValue(Math.max(1, Math.round(outcome.mintUs)));
  }

  result(tag: string): CellResult {
    return {
      tag, completed: this.completed, succeeded: this.succeeded, failures: this.failures, notSent: this.notSent, offered: this.offered,
      windowMs: this.endMs - this.startMs,
      total: hdr.encodeIntoCompressedBase64(this.total), charge: hdr.encodeIntoCompressedBase64(this.charge),
      mint: hdr.encodeIntoCompressedBase64(this.mint), totalUncorrected: hdr.encodeIntoCompressedBase64(this.totalUncorrected),
    };
  }
}

/** Warm-up, then the orchestrator snapshots its meters ('window-start' → 'go'), then the window. */
async function openWindow(window: Window, spec: CellSpec, stopEarly: () => boolean, finishedSoFar: () => number): Promise<void> {
  const started = performance.now();
  await sleepUnless(spec.warmupMs, stopEarly);
  // A slow box: the window opens only once every caller has had an answer, so it measures steady state.
  await sleepUnless(WARMUP_MAX_MS - (performance.now() - started), () => stopEarly() || finishedSoFar() >= spec.callers);
  const go = new Promise<void>((resolve) => { goSignal = resolve; });
  send({ type: 'window-start' });
  await go;
  window.startMs = performance.now();
  await sleepUnless(spec.measureMs, stopEarly);
  await sleepUnless(spec.measureMaxMs - spec.measureMs, () => stopEarly() || window.completed >= spec.minCompleted);
  window.endMs = performance.now();
  send({ type: 'window-end' });
}

async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until && !stop()) await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - performance.now())));
}

async function runClosed(spec: CellSpec, client: Client, work: Work, premint: string[]): Promise<Window> {
  const window = new Window();
  let stopping = false;
  let finished = 0;
  const outOfCodes = () => spec.work === 'charge' && premint.length === 0;
  const callers = Array.from({ length: spec.callers }, async () => {
    while (!stopping && !outOfCodes()) {
      const sent = performance.now();
      const outcome = await work(premint);
      finished++;
      window.record(performance.now(), sent, sent, outcome);
    }
  });
  await openWindow(window, spec, outOfCodes, () => finished);
  stopping = true;
  await Promise.all(callers);
  window.offered = window.completed;
  return window;
}

async function runOpen(spec: CellSpec, client: Client, work: Work, premint: string[]): Promise<Window> {
  const window = new Window();
  const intervalMs = 1000 / spec.ratePerSecond;
  const startedMs = performance.now();
  let issued = 0;
  let inFlight = 0;
  let stopping = false;
  const pending = new Set<Promise<void>>();
  const scheduler = (async () => {
    while (!stopping) {
      const now = performance.now();
      // Every request whose scheduled time has come, even if we are late: lateness is the server's.
      while (startedMs + issued * intervalMs <= now && !stopping) {
        const scheduled = startedMs + issued * intervalMs;
        issued++;
        if (window.inWindow(scheduled)) window.offered++;
        if (inFlight >= spec.inFlightMax) {
          if (window.inWindow(scheduled)) window.notSent++;
          continue;
        }
        inFlight++;
        const sent = performance.now();
        const task = work(premint).then((outcome) => {
          inFlight--;
          window.record(performance.now(), scheduled, sent, outcome);
        });
        pending.add(task);
        void task.finally(() => pending.delete(task));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  await openWindow(window, spec, () => false, () => Number.POSITIVE_INFINITY);
  stopping = true;
  await scheduler;
  await Promise.all(pending);
  return window;
}

async function runCell(spec: CellSpec): Promise<CellResult> {
  const client = new Client(spec.loop === 'closed' ? Math.max(spec.callers, PREMINT_CONCURRENCY) : spec.inFlightMax, spec.path);
  try {
    const premint = spec.work === 'charge' ? await premintCodes(client, spec.premint) : [];
    const work = workFor(spec, client);
    const window = spec.loop === 'closed' ? await runClosed(spec, client, work, premint) : await runOpen(spec, client, work, premint);
    return window.result(spec.tag);
  } finally {
    client.close();
  }
}

process.on('message', (message: ToLoad) => {
  if (message.type === 'setup') {
    setup = message.setup;
    customers = setup.customersFile === null ? [] : JSON.parse(readFileSync(setup.customersFile, 'utf8')) as Customer[];
    send({ type: 'ready' });
  } else if (message.type === 'go') {
    goSignal?.();
    goSignal = null;
  } else if (message.type === 'cell') {
    runCell(message.spec).then((result) => send({ type: 'result', result }), (error: unknown) => send({ type: 'error', message: (error as Error).stack ?? String(error) }));
  } else if (message.type === 'exit') {
    process.exit(0);
  }
});

/**
 * The load generator, in its own process (forked by the harness with an IPC channel): tills charging customer
 * codes (`POST /v2/till/payments`, OPA-Auth signed), refunds and cancels of their own earlier payments, order QR
 * codes paid from the wallet, and wallet top-ups from a card (the sandbox acquirer calls Koban's webhook). Every
 * request and its answer is one line of `requests.jsonl`. An answer that settles nothing (no answer, 5xx, 409,
 * a rate limit) is retried with the same id — merchantPaymentId, merchantRefundId, idempotency key — until one
 * does or the operation's bound passes. Some payments also get an eager duplicate 0–25 ms after the original,
 * as a till with a short timeout sends. On `{ type: 'storm' }` it fires 50 identical requests at once (a till
 * payment, a refund, a QR payment) and answers `{ type: 'storm-done' }`; on `{ type: 'stop' }` it lets the
 * operations in flight settle and exits.
 *
 * Usage (the harness does this): node tools/faults/load.ts <setup.json>
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import { createTransport, newBrowser, problemCode, type Browser, type HttpResponse, type Transport } from '../../src/drill/http.ts';
import { createOutbox, type Outbox } from '../../src/drill/outbox.ts';
import { stepUp } from '../../src/drill/customer-api.ts';
import type { AttemptRecord, OpKind } from './log.ts';
import { verdictOf } from './log.ts';
import { seededRandom } from '../../src/drill/journal.ts';
import type { SeededCustomer, SetupFile } from './setup.ts';

/** An operation still unsettled after this long is left to the checker (which reads the database). */
const OP_BOUND_MS = 90_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2_000;
const STORM_SIZE = 50;
const EAGER_RETRY_MAX_MS = 25;
const TOP_UP_POLL_MS = 250;

const setup = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as SetupFile;
const log = createWriteStream(setup.logPath, { flags: 'a' });
const transport = createTransport({ ca: readFileSync(setup.caPemPath, 'utf8'), maxSocketsPerSource: 16 });
/** A storm must really be 50 requests at once, not 16 at a time. */
const stormTransport = createTransport({ ca: readFileSync(setup.caPemPath, 'utf8'), maxSocketsPerSource: STORM_SIZE + 4 });
let stopping = false;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Answer { readonly status: number; readonly result: string; readonly state?: string; readonly body: unknown }

async function answerOf(send: () => Promise<HttpResponse>): Promise<Answer> {
  try {
    const response = await send();
    const body = response.body as { resultInfo?: { code?: string }; data?: { status?: string }; status?: string } | null;
    const opaCode = body?.resultInfo?.code;
    const state = body?.data?.status ?? (opaCode === undefined ? body?.status : undefined);
    const result = opaCode ?? (response.status < 300 ? 'ok' : problemCode(response));
    return { status: response.status, result, ...(typeof state === 'string' ? { state } : {}), body: response.body };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message.slice(0, 60);
    return { status: 0, result: `network:${code}`, body: null };
  }
}

interface OpContext { readonly op: OpKind; readonly opId: string; readonly worker: string; readonly walletAccountId: string; readonly amountMinor: number; readonly paymentOpId?: string }

function record(ctx: OpContext, attempt: number, sentAtMs: number, answer: Answer, storm = false): void {
  const line: AttemptRecord = {
    kind: 'attempt', op: ctx.op, opId: ctx.opId, attempt, worker: ctx.worker, walletAccountId: ctx.walletAccountId, amountMinor: ctx.amountMinor,
    ...(ctx.paymentOpId === undefined ? {} : { paymentOpId: ctx.paymentOpId }), sentAtMs, answeredAtMs: Date.now(), status: answer.status, result: answer.result,
    ...(answer.state === undefined ? {} : { state: answer.state }), ...(storm ? { storm: true } : {}),
  };
  log.write(`${JSON.stringify(line)}\n`);
}

/**
 * Sends until an answer settles the operation or its bound passes; answers the settling answer (or the last).
 * `eager` sends one duplicate that many ms after the first, without waiting for the first's answer.
 */
async function settle(ctx: OpContext, send: () => Promise<HttpResponse>, rng: () => number, eager: number | null = null): Promise<Answer> {
  const deadline = Date.now() + OP_BOUND_MS;
  let attempt = 0;
  let backoff = BACKOFF_MIN_MS;
  const once = async (): Promise<Answer> => {
    const number = ++attempt;
    const sentAtMs = Date.now();
    const answer = await answerOf(send);
    record(ctx, number, sentAtMs, answer);
    return answer;
  };
  let answer: Answer;
  if (eager === null) answer = await once();
  else {
    const first = once();
    await sleep(eager);
    const both = await Promise.all([first, once()]);
    answer = both.find((a) => verdictOf({ op: ctx.op, ...a }) !== 'unknown') ?? both[0];
  }
  while (verdictOf({ op: ctx.op, ...answer }) === 'unknown' && Date.now() < deadline) {
    await sleep(backoff * (0.5 + rng()));
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    answer = await once();
  }
  return answer;
}

function signed(method: 'POST' | 'DELETE', path: string, body: string | undefined, via: Transport = transport): () => Promise<HttpResponse> {
  // A retry is signed afresh (new nonce, new time), as a real client's retry is; the body stays the same.
  return () => {
    const authorization = computeOpaAuthHeader({
      apiKey: setup.apiKey, apiSecret: setup.apiSecret, method, path, nonce: randomBytes(12).toString('hex'),
      epochSec: Math.floor(Date.now() / 1000), contentType: body === undefined ? undefined : 'application/json', body,
    });
    return via.send({ method, url: new URL(path, setup.opaUrl).toString(), ...(body === undefined ? {} : { rawBody: body }), headers: { authorization } });
  };
}

function phone(customer: SeededCustomer, via: Transport = transport): Browser {
  const browser = newBrowser(via, setup.baseUrl, customer.address, false); // unbound sessions, as set-up made them
  for (const [name, value] of customer.cookies) browser.cookies.set(name, value);
  browser.csrf = customer.csrf;
  return browser;
}

/** A fresh code on the customer's phone; Koban down or not ready means wait and ask again. */
async function mintCode(browser: Browser): Promise<string | null> {
  while (!stopping) {
    try {
      const response = await browser.request('POST', '/v1/wallet/payment-codes', {});
      if (response.status === 200) return (response.body as { code: string }).code;
    } catch {
      // Koban is down or the link is cut: the phone tries again.
    }
    await sleep(250);
  }
  return null;
}

interface Paid { readonly merchantPaymentId: string; readonly paymentId: string; readonly amountMinor: number; refundedMinor: number }

class Worker {
  private serial = 0;
  private readonly paid: Paid[] = [];
  private readonly rng: () => number;
  private readonly browser: Browser;
  private readonly name: string;
  private readonly customer: SeededCustomer;
  constructor(name: string, customer: SeededCustomer, seed: number) {
    this.name = name;
    this.customer = customer;
    this.rng = seededRandom(seed);
    this.browser = phone(customer);
  }

  private nextId(prefix: string): string {
    return `${prefix}${setup.seed}-${this.name}-${++this.serial}`;
  }

  private ctx(op: OpKind, opId: string, amountMinor: number, paymentOpId?: string): OpContext {
    return { op, opId, worker: this.name, walletAccountId: this.customer.walletAccountId, amountMinor, ...(paymentOpId === undefined ? {} : { paymentOpId }) };
  }

  async runTill(): Promise<void> {
    while (!stopping) {
      const roll = this.rng();
      if (roll < 0.08 && this.paid.length > 0) await this.refund();
      else if (roll < 0.12 && this.paid.length > 0) await this.cancel();
      else await this.pay();
    }
  }

  async runQr(): Promise<void> {
    while (!stopping) await this.payQr();
  }

  async runTopUps(outbox: Outbox): Promise<void> {
    while (!stopping) {
      await this.topUp(outbox);
      for (let i = 0; i < 3 && !stopping; i++) await this.pay();
    }
  }

  async pay(): Promise<void> {
    const code = await mintCode(this.browser);
    if (code === null) return;
    const amountMinor = 50 + Math.floor(this.rng() * 950);
    const merchantPaymentId = this.nextId('p');
    const terminalId = setup.terminalIds[Math.floor(this.rng() * setup.terminalIds.length)] ?? setup.terminalIds[0];
    const body = JSON.stringify({ merchantPaymentId, code, amount: { amount: amountMinor, currency: 'JPY' }, storeId: setup.storeId, terminalId });
    const eager = this.rng() < setup.eagerShare ? Math.floor(this.rng() * (EAGER_RETRY_MAX_MS + 1)) : null;
    const answer = await settle(this.ctx('pay', merchantPaymentId, amountMinor), signed('POST', '/v2/till/payments', body), this.rng, eager);
    const paymentId = (answer.body as { data?: { paymentId?: string } } | null)?.data?.paymentId;
    if (verdictOf({ op: 'pay', ...answer }) === 'ok' && paymentId !== undefined) this.paid.push({ merchantPaymentId, paymentId, amountMinor, refundedMinor: 0 });
  }

  private pick(): Paid | undefined {
    return this.paid[Math.floor(this.rng() * this.paid.length)];
  }

  async refund(): Promise<void> {
    const payment = this.pick();
    if (payment === undefined || payment.refundedMinor >= payment.amountMinor) return;
    const left = payment.amountMinor - payment.refundedMinor;
    const amountMinor = 1 + Math.floor(this.rng() * Math.min(left, Math.ceil(payment.amountMinor / 2)));
    const merchantRefundId = this.nextId('r');
    const body = JSON.stringify({ merchantRefundId, paymentId: payment.paymentId, amount: { amount: amountMinor, currency: 'JPY' }, reason: 'fault harness' });
    const answer = await settle(this.ctx('refund', merchantRefundId, amountMinor, payment.merchantPaymentId), signed('POST', '/v2/refunds', body), this.rng);
    if (verdictOf({ op: 'refund', ...answer }) === 'ok') payment.refundedMinor += amountMinor;
  }

  async cancel(): Promise<void> {
    const payment = this.pick();
    if (payment === undefined) return;
    this.paid.splice(this.paid.indexOf(payment), 1);
    await settle(this.ctx('cancel', payment.merchantPaymentId, payment.amountMinor, payment.merchantPaymentId),
      signed('DELETE', `/v2/payments/${payment.merchantPaymentId}`, undefined), this.rng);
  }

  async payQr(): Promise<void> {
    const amountMinor = 100 + Math.floor(this.rng() * 900);
    const merchantPaymentId = this.nextId('q');
    const codeId = await this.createQr(merchantPaymentId, amountMinor);
    if (codeId === null) return;
    await settle(this.ctx('qr_pay', merchantPaymentId, amountMinor), () => this.browser.request('POST', `/v1/wallet/qr/${codeId}/pay`, {}), this.rng);
  }

  /** The order QR itself moves no money: created again by its merchantPaymentId until Koban answers. */
  async createQr(merchantPaymentId: string, amountMinor: number): Promise<string | null> {
    const body = JSON.stringify({ merchantPaymentId, amount: { amount: amountMinor, currency: 'JPY' }, codeType: 'ORDER_QR', storeId: setup.storeId });
    const create = signed('POST', '/v2/codes', body);
    while (!stopping) {
      const answer = await answerOf(create);
      const codeId = (answer.body as { data?: { codeId?: string } } | null)?.data?.codeId;
      if (answer.status === 201 && codeId !== undefined) return codeId;
      await sleep(250);
    }
    return null;
  }

  async topUp(outbox: Outbox): Promise<void> {
    // Card and bank by turns: the acquirer's and the bank's webhooks both reach Koban during faults.
    const useBank = this.customer.bankSourceId !== null && this.rng() < 0.5;
    const fundingSourceId = useBank ? this.customer.bankSourceId : this.customer.fundingSourceId;
    if (fundingSourceId === null) return;
    const amountMinor = 1_000 + Math.floor(this.rng() * 2_000);
    let grant: string | null = null;
    while (grant === null && !stopping) {
      try {
        const outcome = await stepUp(this.browser, outbox, this.customer.person.phone, 'top_up', { amountMinor: String(amountMinor), fundingSourceId });
        if (outcome.ok) grant = outcome.value;
      } catch {
        // Koban down: the step-up is asked again (no money has moved yet).
      }
      if (grant === null) await sleep(500);
    }
    if (grant === null) return;
    const idempotencyKey = `k${setup.seed}-${this.name}-${++this.serial}-${randomUUID().slice(0, 8)}`;
    const ctx = this.ctx('topup', idempotencyKey, amountMinor);
    const started = await settle(ctx, () => this.browser.request('POST', '/v1/customer/top-ups',
      { fundingSourceId, amount: String(amountMinor), pin: this.customer.person.pin, threeDSecure: false }, { 'x-step-up-grant': grant, 'idempotency-key': idempotencyKey }), this.rng);
    const topUpId = (started.body as { topUpId?: string } | null)?.topUpId;
    if (topUpId === undefined) return;
    const deadline = Date.now() + OP_BOUND_MS;
    let attempt = 1_000;
    let last = started;
    while (verdictOf({ op: 'topup', ...last }) === 'unknown' && Date.now() < deadline) {
      await sleep(TOP_UP_POLL_MS);
      const sentAtMs = Date.now();
      last = await answerOf(() => this.browser.request('GET', `/v1/customer/top-ups/${topUpId}`));
      record(ctx, ++attempt, sentAtMs, last);
    }
  }

  /** 50 identical requests at once: a till payment, a refund of it, and a QR payment. */
  async storm(): Promise<void> {
    const stormPhone = phone(this.customer, stormTransport);
    const code = await mintCode(stormPhone);
    if (code === null) return;
    const amountMinor = 500;
    const merchantPaymentId = this.nextId('sp');
    const body = JSON.stringify({ merchantPaymentId, code, amount: { amount: amountMinor, currency: 'JPY' }, storeId: setup.storeId, terminalId: setup.terminalIds[0] });
    const pay = await burst(this.ctx('pay', merchantPaymentId, amountMinor), signed('POST', '/v2/till/payments', body, stormTransport), this.rng);
    // A premature SUCCESS (status CREATED) names the payment too; its refunds are then stormed all the same.
    const paymentId = (pay.body as { data?: { paymentId?: string } } | null)?.data?.paymentId;
    if (paymentId !== undefined && ['ok', 'premature'].includes(verdictOf({ op: 'pay', ...pay }))) {
      const merchantRefundId = this.nextId('sr');
      const refundBody = JSON.stringify({ merchantRefundId, paymentId, amount: { amount: 200, currency: 'JPY' }, reason: 'fault harness storm' });
      await burst(this.ctx('refund', merchantRefundId, 200, merchantPaymentId), signed('POST', '/v2/refunds', refundBody, stormTransport), this.rng);
    }
    const qrId = this.nextId('sq');
    const codeId = await this.createQr(qrId, amountMinor);
    if (codeId !== null) await burst(this.ctx('qr_pay', qrId, amountMinor), () => stormPhone.request('POST', `/v1/wallet/qr/${codeId}/pay`, {}), this.rng);
  }
}

/** STORM_SIZE copies at once, then retries one at a time if none of them settled the operation. */
async function burst(ctx: OpContext, send: () => Promise<HttpResponse>, rng: () => number): Promise<Answer> {
  const answers = await Promise.all(Array.from({ length: STORM_SIZE }, async (_, index) => {
    const sentAtMs = Date.now();
    const answer = await answerOf(send);
    record(ctx, index + 1, sentAtMs, answer, true);
    return answer;
  }));
  const verdict = (a: Answer) => verdictOf({ op: ctx.op, ...a });
  const settled = answers.find((a) => verdict(a) === 'ok') ?? answers.find((a) => verdict(a) !== 'unknown');
  if (settled !== undefined) return settled;
  return settle({ ...ctx }, send, rng);
}

async function main(): Promise<void> {
  const customers = setup.customers;
  const topUpCustomer = customers.find((c) => c.fundingSourceId !== null);
  const qrCustomer = customers.at(-2);
  const stormCustomer = customers.at(-1);
  const tillCustomers = customers.filter((c) => c !== topUpCustomer && c !== qrCustomer && c !== stormCustomer);
  if (topUpCustomer === undefined || qrCustomer === undefined || stormCustomer === undefined || tillCustomers.length === 0) throw new Error('setup.json lacks the customers the load needs');
  const outbox = createOutbox(newBrowser(transport, setup.baseUrl, null));
  const running: Array<Promise<void>> = [
    ...tillCustomers.map((c, i) => new Worker(`till${i}`, c, setup.seed * 31 + i).runTill()),
    new Worker('qr', qrCustomer, setup.seed * 31 + 100).runQr(),
    new Worker('topup', topUpCustomer, setup.seed * 31 + 200).runTopUps(outbox),
  ];
  const storms = new Worker('storm', stormCustomer, setup.seed * 31 + 300);
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'storm') {
      void storms.storm().finally(() => process.send?.({ type: 'storm-done' }));
    }
    if (message.type === 'stop') stopping = true;
  });
  process.send?.({ type: 'started' });
  await Promise.all(running.map((p) => p.catch((error: unknown) => {
    process.stderr.write(`load worker failed: ${(error as Error).stack ?? String(error)}\n`);
  })));
  await new Promise<void>((resolve) => log.end(resolve));
  transport.close();
  stormTransport.close();
  process.exit(0);
}

await main();

/**
 * Schema-driven fuzzing (issue 12): every operation in `/openapi.json` and every route of the OPA
 * merchant listener gets requests built from its schema and then broken — boundary numbers, NUL,
 * unpaired surrogates, huge strings, wrong types, duplicate keys, invalid UTF-8, wrong content types,
 * deep nesting, path and query tricks — sent as a signed-in customer, operator, till or merchant
 * where the route needs one, so the mutation reaches the handler rather than stopping at a 401.
 * Any 5xx, or an answer that takes longer than the bound (a hang), fails the test with the seed that
 * reproduces it: `KOBAN_FUZZ_SEED=<seed> npm test -- test/http/fuzz.test.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import { newClient, PUBLIC_URL, signUp, type Client } from '../identity/support.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { ledgerAuth, startTestKoban } from '../support/koban.ts';
import { KEYS } from '../wallet/support.ts';
import { buildAcquirer } from '../../sandbox/acquirer/app.ts';
import { buildBank } from '../../sandbox/bank/app.ts';
import { buildEkyc } from '../../sandbox/ekyc/app.ts';

const SEED = Number(process.env.KOBAN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Cases per operation: one of each mutation kind, then random ones. */
const CASES_PER_OPERATION = 22;
/** An answer slower than this is a hang. */
const ANSWER_BOUND_MS = 15_000;
/** Re-signing-in after a fuzzed request ended the session (sign-out, revoke-all…) is bounded too. */
const REFRESHES_MAX = 60;

// mulberry32: small, seeded, good enough to pick mutations.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

type Schema = Record<string, unknown>;
interface Operation {
  readonly listener: 'main' | 'opa';
  readonly method: string;
  /** OpenAPI template, `{name}` for path parameters. */
  readonly path: string;
  readonly pathParams: ReadonlyArray<{ name: string; schema: Schema }>;
  readonly queryParams: ReadonlyArray<{ name: string; schema: Schema; required: boolean }>;
  readonly headerParams: ReadonlyArray<{ name: string; schema: Schema; required: boolean }>;
  readonly body: Schema | null;
}

const MUTATIONS = ['nul', 'surrogate', 'huge', 'number', 'type', 'duplicate-keys', 'content-type', 'invalid-utf8', 'path', 'query', 'deep', 'empty-body', 'baseline', 'extra-field'] as const;
type Mutation = (typeof MUTATIONS)[number];

const BOUNDARY_NUMBERS = ['0', '-1', '2147483648', '9007199254740991', '-9007199254740992', '1e300', '1.5', '-0', '100000000000000000000000'];
const WRONG_TYPES: readonly unknown[] = [null, true, [], {}, 12, '', [1, 2], { a: 1 }];
const PATH_TRICKS = ['..', '%2e%2e%2f', '%00', '%ED%A0%80', '%FF', '%C0%AF', `urn:uuid:${randomUUID()}`, `{${randomUUID()}}`, randomUUID().replaceAll('-', ''),
  randomUUID().toUpperCase(), '%20', 'a%2Fb', '%25', 'x'.repeat(3000), '-1', '0', '00000000-0000-0000-0000-000000000000', "'", '%27%20or%201=1--'];
const QUERY_TRICKS = ['__proto__=x', 'constructor[prototype]=x', 'limit=0', 'limit=99999999999999999999', 'limit=1&limit=2', 'cursor=%00', 'cursor=%ED%A0%80', 'cursor=%FF',
  `cursor=${'x'.repeat(5000)}`, 'from=2026-13-45', 'to=0000-00-00', 'q=%00', 'q=%25%25', 'before=99999999999999999999', 'status[]=open', 'a=%E0%A4%A'];

/** A value that satisfies `schema` where that is easy, so a mutation elsewhere reaches the handler. */
function valueFor(schema: Schema | undefined, depth = 0): unknown {
  if (schema === undefined || depth > 6) return 'x';
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return pick(schema.enum as unknown[]);
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(variants) && variants.length > 0) return valueFor(pick(variants), depth + 1);
  const type = Array.isArray(schema.type) ? pick(schema.type as string[]) : schema.type;
  switch (type) {
    case 'string': return stringFor(schema);
    case 'integer': case 'number': return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean': return random() < 0.5;
    case 'null': return null;
    case 'array': return (typeof schema.minItems === 'number' && schema.minItems > 0) || random() < 0.5 ? [valueFor(schema.items as Schema | undefined, depth + 1)] : [];
    case 'object': return objectFor(schema, depth);
    default: return 'x';
  }
}

function objectFor(schema: Schema, depth: number): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const result: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (required.has(name) || random() < 0.5) result[name] = valueFor(property, depth + 1);
  }
  return result;
}

const STRING_CANDIDATES = () => [randomUUID(), '1000', '123456', '2026-01-02', 'hanako@example.com', '+819012345678', 'abcdefgh12', 'x', 'JPY', 'correct horse battery staple', '5411'];

function stringFor(schema: Schema): string {
  if (schema.format === 'uuid') return randomUUID();
  if (schema.format === 'email') return 'fuzz@example.com';
  if (schema.format === 'date-time') return new Date().toISOString();
  if (schema.format === 'uri') return 'https://example.com/hook';
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern);
    const found = STRING_CANDIDATES().find((candidate) => pattern.test(candidate));
    if (found !== undefined) return found;
  }
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 1;
  return 'x'.repeat(Math.max(1, Math.min(minLength, 64)));
}

function operationsFrom(document: { paths: Record<string, Record<string, Schema>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = (operation.parameters ?? []) as Array<{ in: string; name: string; schema: Schema; required?: boolean }>;
      const content = (operation.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content;
      operations.push({
        listener: 'main', method: method.toUpperCase(), path,
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => ({ ...p, required: p.required === true })),
        headerParams: parameters.filter((p) => p.in === 'header').map((p) => ({ ...p, required: p.required === true })),
        body: content?.['application/json']?.schema ?? null,
      });
    }
  }
  return operations;
}

/** A string in JSON where `\ud800` stays an escape (JSON.stringify would keep it as is, which is also an escape). */
const jsonText = (value: unknown): string => JSON.stringify(value) ?? 'null';

interface Built {
  url: string;
  headers: Record<string, string>;
  payload: string | Buffer | undefined;
}

function encodePathValue(value: unknown): string {
  const text = typeof value === 'string' ? value : jsonText(value);
  return text.isWellFormed() ? encodeURIComponent(text) : '%ED%A0%80';
}

/** One request for `operation` with `mutation` applied. */
function build(operation: Operation, mutation: Mutation): Built {
  const body = operation.body === null ? undefined : valueFor(operation.body);
  const pathValues = new Map(operation.pathParams.map((p) => [p.name, encodePathValue(valueFor(p.schema))]));
  const query = new Map(operation.queryParams.filter((p) => p.required || random() < 0.3).map((p) => [p.name, encodePathValue(valueFor(p.schema))]));
  const headers: Record<string, string> = {};
  for (const header of operation.headerParams) {
    if (header.required || random() < 0.5) headers[header.name] = String(valueFor(header.schema)).replace(/[^\x20-\x7e]/g, 'x');
  }
  let bodyText: string | Buffer | undefined = body === undefined ? (operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH' ? '{}' : undefined) : jsonText(body);
  let contentType: string | undefined = bodyText === undefined ? undefined : 'application/json';
  const slotValue = (): unknown => {
    switch (mutation) {
      case 'nul': return 'a\u0000b';
      case 'surrogate': return pick(['\ud800', 'x\udfff', '\udc00\ud800']);
      case 'huge': return 'x'.repeat(pick([70_000, 300_000]));
      case 'type': return pick(WRONG_TYPES);
      default: return undefined;
    }
  };
  const replaced = slotValue();
  const bodyObject = typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : null;
  if (replaced !== undefined) {
    // The slot: a body member, else a path parameter, else a query parameter, else the whole body.
    const slots = [...(bodyObject === null ? [] : Object.keys(operation.body?.properties as object ?? {}).map((k) => `body:${k}`)), ...[...pathValues.keys()].map((k) => `path:${k}`), ...operation.queryParams.map((p) => `query:${p.name}`)];
    const slot = slots.length === 0 ? 'body:' : pick(slots);
    const [where, name = ''] = slot.split(':') as [string, string];
    if (where === 'body' && bodyObject !== null) bodyText = jsonText({ ...bodyObject, [name]: replaced });
    else if (where === 'body') bodyText = jsonText(replaced);
    else if (where === 'path') pathValues.set(name, encodePathValue(typeof replaced === 'string' ? replaced.slice(0, 5000) : replaced));
    else query.set(name, encodePathValue(typeof replaced === 'string' ? replaced.slice(0, 5000) : replaced));
    contentType ??= 'application/json';
  }
  switch (mutation) {
    case 'number': {
      const member = bodyObject === null ? null : pick([...Object.keys(bodyObject), 'amount']);
      const literal = pick(BOUNDARY_NUMBERS);
      bodyText = member === null ? literal : `${jsonText(bodyObject).slice(0, -1)}${Object.keys(bodyObject ?? {}).length > 0 ? ',' : ''}${jsonText(member)}:${literal}}`;
      contentType = 'application/json';
      if (operation.queryParams.length > 0) query.set(pick(operation.queryParams).name, encodeURIComponent(literal));
      break;
    }
    case 'duplicate-keys': {
      const member = bodyObject === null ? 'amount' : pick([...Object.keys(bodyObject), 'amount']);
      bodyText = `{${jsonText(member)}:"1",${jsonText(member)}:${pick(['"2"', '-1', 'null', '{}'])}${bodyObject !== null && Object.keys(bodyObject).length > 0 ? `,${jsonText(bodyObject).slice(1)}` : '}'}`;
      contentType = 'application/json';
      break;
    }
    case 'content-type':
      bodyText ??= '{}';
      contentType = pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/xml', 'application/jsonx', '*/*', 'application/problem+json']);
      break;
    case 'invalid-utf8': {
      const prefix = Buffer.from(bodyObject === null ? '{"x":"' : `${jsonText(bodyObject).slice(0, -1)}${Object.keys(bodyObject).length > 0 ? ',' : ''}"x":"`);
      bodyText = Buffer.concat([prefix, Buffer.from(pick([[0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe0, 0x80]])), Buffer.from('"}')]);
      contentType = 'application/json';
      break;
    }
    case 'path':
      if (pathValues.size > 0) pathValues.set(pick([...pathValues.keys()]), pick(PATH_TRICKS));
      break;
    case 'query':
      for (let i = 0; i < 3; i++) {
        const [name, value = ''] = pick(QUERY_TRICKS).split('=') as [string, string];
        query.set(operation.queryParams.length > 0 && random() < 0.5 ? pick(operation.queryParams).name : name, value);
      }
      break;
    case 'deep': {
      const depth = pick([100, 5000]);
      bodyText = random() < 0.5 ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      contentType = 'application/json';
      break;
    }
    case 'empty-body':
      bodyText = pick(['', ' ', 'null', '""', '[]', '0', 'true']);
      contentType = 'application/json';
      break;
    case 'extra-field':
      if (bodyObject !== null) bodyText = jsonText({ ...bodyObject, ['__proto__']: { admin: true }, constructor: 'x', extra: 1 });
      break;
    default:
      break;
  }
  const path = operation.path.replace(/\{([^}]+)\}/g, (_whole, name: string) => pathValues.get(name) ?? 'x');
  const search = [...query].map(([k, v]) => `${encodeURIComponent(k).replaceAll('%5B', '[').replaceAll('%5D', ']')}=${v}`).join('&');
  if (contentType !== undefined && bodyText !== undefined) headers['content-type'] = contentType;
  return { url: search === '' ? path : `${path}?${search}`, headers, payload: bodyText };
}

interface Identities {
  customer: Client;
  operator: SignedInOperator;
  till: Client;
  credential: { apiKey: string; apiSecret: string };
}

let koban: Koban;
let close: () => Promise<void>;
let merchant: TestMerchant;
let identities: Identities;
let refreshes = 0;

async function freshTill(): Promise<Client> {
  const till = newClient(koban, `203.0.113.${Math.floor(random() * 200) + 1}`);
  const code = (await koban.payments.terminals.issueActivationCode(merchant.terminalIds[0] ?? '', 'fuzz')).code;
  const activated = await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } });
  expect(activated.statusCode, activated.body).toBe(200);
  return till;
}

const EKYC_KEYS = { apiKey: 'sk_test_ekyc_fuzz_000000001', webhookSecret: 'whsec_test_ekyc_fuzz_0000001' } as const;

let closeSandboxes: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  // The card acquirer, bank and eKYC sandboxes, so the funding and identity-verification routes answer
  // instead of an honest "not available" 503 (eKYC's webhooks go nowhere: Koban is reached by inject).
  const acquirer = buildAcquirer({ apiKey: KEYS.acquirerApiKey, webhookSecret: KEYS.acquirerWebhookSecret, testApiKey: KEYS.acquirerTestKey });
  const bank = buildBank({ apiKey: KEYS.bankApiKey, webhookSecret: KEYS.bankWebhookSecret, testApiKey: KEYS.bankTestKey });
  const ekyc = buildEkyc({ apiKey: EKYC_KEYS.apiKey, webhookSecret: EKYC_KEYS.webhookSecret, webhookUrl: 'http://127.0.0.1:9/v1/webhooks/ekyc' });
  const sandboxEnv = {
    KOBAN_ACQUIRER_URL: await acquirer.listen({ port: 0, host: '127.0.0.1' }), KOBAN_ACQUIRER_API_KEY: KEYS.acquirerApiKey, KOBAN_ACQUIRER_WEBHOOK_SECRET: KEYS.acquirerWebhookSecret,
    KOBAN_BANK_URL: await bank.listen({ port: 0, host: '127.0.0.1' }), KOBAN_BANK_API_KEY: KEYS.bankApiKey, KOBAN_BANK_WEBHOOK_SECRET: KEYS.bankWebhookSecret,
    KOBAN_EKYC_URL: await ekyc.listen({ port: 0, host: '127.0.0.1' }), KOBAN_EKYC_API_KEY: EKYC_KEYS.apiKey, KOBAN_EKYC_WEBHOOK_SECRET: EKYC_KEYS.webhookSecret,
    KOBAN_PROVIDER_TIMEOUT_MS: '5000',
  };
  closeSandboxes = async () => {
    await acquirer.close();
    await bank.close();
    await ekyc.close();
  };
  ({ koban, close } = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, ...sandboxEnv } }));
  merchant = await createTestMerchant(koban.db, koban.ledger, 'Fuzz Mart');
  const credential = await createApiCredential(koban.db, koban.payments.box, { merchantId: merchant.merchantId });
  identities = { customer: (await signUp(koban)).client, operator: await signInAs(koban, 'administrator'), till: await freshTill(), credential };
}, 120_000);
afterAll(async () => {
  await close();
  await closeSandboxes();
});

function identityHeaders(path: string): Record<string, string> {
  const cookieOf = (client: Client) => [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  if (path.startsWith('/v1/ops/')) return identities.operator.headers;
  if (path.startsWith('/v1/ledger/')) return ledgerAuth;
  if (path.startsWith('/v1/till/')) return { cookie: cookieOf(identities.till), ...(identities.till.csrf === null ? {} : { 'x-csrf-token': identities.till.csrf }) };
  if (path.startsWith('/v1/customer/') || path.startsWith('/v1/wallet/')) {
    return { cookie: cookieOf(identities.customer), ...(identities.customer.csrf === null ? {} : { 'x-csrf-token': identities.customer.csrf }) };
  }
  return {};
}

/** A fuzzed request may end its own session (sign-out, revoke-all, password change): sign in again. */
async function refreshIdentity(path: string): Promise<void> {
  if (refreshes >= REFRESHES_MAX) return;
  refreshes++;
  if (path.startsWith('/v1/ops/')) identities.operator = await signInAs(koban, 'administrator');
  else if (path.startsWith('/v1/till/')) identities.till = await freshTill();
  else if (path.startsWith('/v1/customer/') || path.startsWith('/v1/wallet/')) identities.customer = (await signUp(koban)).client;
}

function opaHeaders(method: string, url: string, built: Built): Record<string, string> {
  const contentType = built.headers['content-type'];
  const body = built.payload === undefined ? undefined : typeof built.payload === 'string' ? built.payload : new Uint8Array(built.payload);
  const authorization = computeOpaAuthHeader({
    apiKey: identities.credential.apiKey, apiSecret: identities.credential.apiSecret, method, path: url,
    nonce: randomUUID(), epochSec: Math.floor(Date.now() / 1000), contentType, body,
  });
  return { authorization };
}

async function send(operation: Operation, built: Built): Promise<LightMyRequestResponse | 'hang'> {
  const headers = operation.listener === 'opa'
    ? { ...built.headers, ...opaHeaders(operation.method, built.url, built) }
    : { ...built.headers, ...identityHeaders(built.url) };
  const options: InjectOptions = { method: operation.method as InjectOptions['method'], url: built.url, headers, remoteAddress: '198.51.100.99', ...(built.payload === undefined ? {} : { payload: built.payload }) };
  const app = operation.listener === 'opa' ? koban.payments.opa.app : koban.app;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), ANSWER_BOUND_MS); });
  try {
    return await Promise.race([app.inject(options), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('schema-driven fuzzing', () => {
  it('no operation on either listener answers 5xx or hangs, whatever it is sent', async () => {
    console.log(`fuzz seed ${SEED} (reproduce: KOBAN_FUZZ_SEED=${SEED} npm test -- test/http/fuzz.test.ts)`);
    const document = (await koban.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Schema>> };
    const operations = [
      ...operationsFrom(document).filter((op) => op.path !== '/v1/customer/notifications/stream'),
      ...koban.payments.opa.routes.map((route): Operation => ({
        listener: 'opa', method: route.method, path: route.url.replace(/:([A-Za-z]+)/g, '{$1}'),
        pathParams: [...route.url.matchAll(/:([A-Za-z]+)/g)].map((match) => ({ name: match[1] ?? 'id', schema: { type: 'string' } })),
        queryParams: [], headerParams: [], body: route.method === 'POST' ? { type: 'object', properties: { merchantPaymentId: { type: 'string' }, amount: { type: 'object', properties: { amount: { type: 'integer' }, currency: { const: 'JPY' } } }, userAuthorizationId: { type: 'string' }, codeType: { const: 'ORDER_QR' } } } : null,
      })),
    ];
    expect(operations.length).toBeGreaterThan(100);
    const failures: string[] = [];
    let sent = 0;
    for (const operation of operations) {
      for (let i = 0; i < CASES_PER_OPERATION; i++) {
        const mutation = i < MUTATIONS.length ? MUTATIONS[i] as Mutation : pick(MUTATIONS);
        const built = build(operation, mutation);
        const answer = await send(operation, built);
        sent++;
        const status = answer === 'hang' ? 'hang' : answer.statusCode;
        if (answer === 'hang' || answer.statusCode >= 500) {
          const shown = built.payload === undefined ? '' : String(built.payload).slice(0, 160);
          failures.push(`${status} [${mutation}] ${operation.listener} ${operation.method} ${built.url.slice(0, 160)} ${built.headers['content-type'] ?? ''} ${shown} → ${answer === 'hang' ? '' : answer.body.slice(0, 200)}`);
        }
        if (answer !== 'hang' && answer.statusCode === 401 && operation.listener === 'main') await refreshIdentity(built.url);
      }
    }
    console.log(`fuzz: ${sent} requests over ${operations.length} operations, ${failures.length} failures, ${refreshes} re-sign-ins`);
    expect(failures, `seed ${SEED}`).toEqual([]);
  }, 240_000);
});

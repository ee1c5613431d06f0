/**
 * The merchant portal's API under /v1/merchant: thin adapters (parse, call the module, map). Every route
 * declares the permission it needs; the gate (gate.ts) checks the staff session, CSRF and role first.
 * Amounts are integers of yen on the wire, bigint inside.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import type { AuditLog } from '../operations/audit/audit-log.ts';
import { MERCHANT_ROLES } from '../merchants/staff-roles.ts';
import { applicationVersions, resubmitApplication } from '../merchants/application-versions.ts';
import { changeStaffRole, createStaffUser, disableStaffUser, listStaffUsers, signInStaff, signOutStaff, staffActor, type StaffUser } from '../merchants/staff.ts';
import { createStore, createTerminal, listStores, listTerminals, revokeTerminal, updateStore, type Store, type Terminal } from '../merchants/stores.ts';
import type { MerchantProfile } from '../merchants/onboarding.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import type { Payment, Refund } from '../payments/model.ts';
import type { Settlement } from '../payments/settlement/close.ts';
import { businessDate, isBusinessDate } from '../payments/time.ts';
import { wireInteger } from '../payments/views.ts';
import { clearedMerchantSessionCookie, installMerchantGate, merchantSessionCookie, PORTAL_SECURITY_NOTE, PORTAL_TAG, staffContextOf, staffOf, type PortalRouteConfig } from './gate.ts';
import { registerStaffPasskeyRoutes } from './passkey-routes.ts';
import { POSTER_PNG_DPI, storePosterPdf, storePosterPng, storePosterSvg, storeQrPng, type PosterInput } from './poster.ts';
import { listSales, listStatements, readSale, salesByDay, SALES_PAGE_MAX } from './reads.ts';
import * as portal from './service.ts';

const tags = [PORTAL_TAG];
const description = PORTAL_SECURITY_NOTE;
const cfg = (config: PortalRouteConfig): PortalRouteConfig => config;
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept in the audit log' });
const iso = (at: Date | null): string | null => at?.toISOString() ?? null;

const userOut = (u: StaffUser) => ({ id: u.id, email: u.email, displayName: u.displayName, role: u.role, status: u.status, totpConfirmed: u.totpConfirmed, createdAt: u.createdAt.toISOString() });
const storeOut = (s: Store) => ({ id: s.id, name: s.name, address: s.address, city: s.city, cityLocal: s.cityLocal, postalCode: s.postalCode, status: s.status, createdAt: s.createdAt.toISOString() });
const terminalOut = (t: Terminal) => ({ id: t.id, storeId: t.storeId, name: t.name, status: t.status, createdAt: t.createdAt.toISOString(), lastActiveAt: iso(t.lastActiveAt) });
export const merchantOut = (m: MerchantProfile) => ({
  id: m.id, name: m.name, nameLatin: m.nameLatin, categoryCode: m.categoryCode, status: m.status, reviewState: m.reviewState, reviewNote: m.reviewNote,
  corporateNumber: m.corporateNumber, representative: m.representative, address: m.address, contactEmail: m.contactEmail, contactPhone: m.contactPhone,
  expectedMonthlyVolume: m.expectedMonthlyVolumeMinor === null ? null : wireInteger(m.expectedMonthlyVolumeMinor), firstApprovedBy: m.firstApprovedBy,
  statusReason: m.statusReason, statusChangedAt: iso(m.statusChangedAt), payoutsHeld: m.payoutsHeld, appliedAt: iso(m.appliedAt), createdAt: m.createdAt.toISOString(),
});
const paymentOut = (p: Payment, storeName: string | null, terminalName: string | null) => ({
  id: p.id, merchantPaymentId: p.merchantPaymentId, kind: p.kind, status: p.status, amount: wireInteger(p.amountMinor), fee: wireInteger(p.feeMinor),
  refunded: wireInteger(p.refundedMinor), canceledAmount: p.cancelAmountMinor === null ? null : wireInteger(p.cancelAmountMinor), storeId: p.storeId, storeName,
  terminalId: p.terminalId, terminalName, createdAt: p.createdAt.toISOString(), acceptedAt: iso(p.acceptedAt), businessDate: p.businessDate, canceledAt: iso(p.canceledAt),
});
const refundOut = (r: Refund) => ({ id: r.id, status: r.status, amount: wireInteger(r.amountMinor), reason: r.reason, createdAt: r.createdAt.toISOString(), completedAt: iso(r.completedAt) });
const statementOut = (s: Settlement) => ({
  businessDate: s.businessDate, paymentsCount: s.paymentsCount, refundsCount: s.refundsCount, gross: wireInteger(s.grossMinor), refunds: wireInteger(s.refundsMinor),
  fees: wireInteger(s.feesMinor), net: wireInteger(s.netMinor), payoutStatus: s.payoutStatus, payoutAmount: s.payoutAmountMinor === null ? null : wireInteger(s.payoutAmountMinor), payoutFailure: s.payoutFailure,
});
function requireUuid(id: string, code: 'store_not_found' | 'terminal_not_found' | 'payment_not_found' | 'not_found'): string {
  if (!isUuid(id)) throw new KobanError(code);
  return id;
}

export function registerPortalRoutes(app: App, deps: portal.PortalDeps): void {
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
    installMerchantGate(scope, { db: deps.db, box: deps.box, now: deps.now }, deps.audit);
    registerSessionRoutes(scope, deps);
    registerStaffPasskeyRoutes(scope, deps, userOut);
    registerStoreRoutes(scope, deps);
    registerSalesRoutes(scope, deps);
    registerMoneyRoutes(scope, deps);
    registerDeveloperRoutes(scope, deps);
    registerStaffRoutes(scope, deps, deps.audit);
  });
}

const StaffBody = Type.Object({ email: Type.String({ maxLength: 254 }), displayName: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 12, maxLength: 128 }) }, { additionalProperties: false });
const BankBody = Type.Object({
  bankCode: Type.String({ pattern: '^[0-9]{4}$' }), branchCode: Type.String({ pattern: '^[0-9]{3}$' }), accountType: Type.Union([Type.Literal('ordinary'), Type.Literal('current')]),
  accountNumber: Type.String({ pattern: '^[0-9]{7}$' }), holderNameKana: Type.String({ minLength: 1, maxLength: 60 }),
}, { additionalProperties: false });

const ApplicationFields = {
  nameJa: Type.String({ minLength: 1, maxLength: 200 }), nameLatin: Type.String({ minLength: 1, maxLength: 25 }), corporateNumber: Type.String({ maxLength: 13 }),
  representative: Type.String({ minLength: 1, maxLength: 200 }), address: Type.String({ minLength: 1, maxLength: 400 }), contactEmail: Type.String({ maxLength: 254 }),
  contactPhone: Type.String({ maxLength: 32 }), categoryCode: Type.String({ maxLength: 4 }), expectedMonthlyVolume: Type.Integer({ minimum: 0, maximum: 1e13 }),
};

function registerSessionRoutes(scope: App, deps: portal.PortalDeps): void {
  scope.post('/v1/merchant/applications', {
    config: cfg({ public: true }),
    schema: { tags, summary: 'Apply to become a Koban merchant; answers the owner\'s authenticator enrolment (shown once). Sign-in works once an operator approves.',
      body: Type.Object({ ...ApplicationFields, bank: BankBody, owner: StaffBody }, { additionalProperties: false }),
      response: { 201: Type.Object({ merchantId: Type.String(), status: Type.String(), owner: Type.Object({ email: Type.String(), totpSecret: Type.String(), totpUri: Type.String() }) }) } },
  }, async (request, reply) => {
    const body = request.body;
    const applied = await portal.apply(deps, { ...body, expectedMonthlyVolumeMinor: BigInt(body.expectedMonthlyVolume) }, staffContextOf(request));
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ merchantId: applied.merchantId, status: 'applied', owner: { email: applied.owner.user.email, totpSecret: applied.owner.totpSecret, totpUri: applied.owner.totpUri } });
  });

  scope.post('/v1/merchant/session', {
    config: cfg({ public: true }),
    schema: { tags, summary: 'Merchant staff sign-in: e-mail, password and authenticator code together', description: `Sets the __Host-koban_merchant cookie and answers the CSRF token to send as x-csrf-token.`,
      body: Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }), totpCode: Type.String({ maxLength: 16 }) }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const result = await signInStaff({ db: deps.db, box: deps.box, now: deps.now }, request.body, staffContextOf(request));
    reply.header('set-cookie', merchantSessionCookie(result.sessionToken));
    reply.header('cache-control', 'no-store');
    return { user: userOut(result.user), csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString(), sessionKind: result.sessionKind };
  });

  scope.get('/v1/merchant/session', {
    config: cfg({ merchantPermission: 'session.self', applicant: true }),
    schema: { tags, description, summary: 'The signed-in merchant user and their merchant (an applicant session: the application and the operator\'s request in reviewNote)' },
  }, async (request) => {
    const principal = staffOf(request);
    return { user: { id: principal.userId, email: principal.email, role: principal.role }, sessionKind: principal.sessionKind, merchant: merchantOut(await portal.profileOf(deps, principal)) };
  });

  scope.get('/v1/merchant/application', {
    config: cfg({ merchantPermission: 'session.self', applicant: true }),
    schema: { tags, description, summary: 'The merchant\'s application as it stands, with every submitted version' },
  }, async (request) => {
    const principal = staffOf(request);
    const versions = await applicationVersions(deps.db, principal.merchantId);
    return { merchant: merchantOut(await portal.profileOf(deps, principal)), versions: versions.map((v) => ({ ...v, submittedAt: v.submittedAt.toISOString() })) };
  });

  scope.post('/v1/merchant/application', {
    config: cfg({ merchantPermission: 'staff.manage', applicant: true }),
    schema: { tags, description, summary: 'Resubmit the corrected application after an operator asked for more (owner only; the review starts again)',
      body: Type.Object({ ...ApplicationFields, bank: Type.Optional(BankBody), note: Type.String({ minLength: 1, maxLength: 2000, description: 'Your answer to the operator\'s request' }) }, { additionalProperties: false }) },
  }, async (request) => {
    const { expectedMonthlyVolume, bank, ...fields } = request.body;
    const profile = await resubmitApplication(portal.merchantsDepsOf(deps), staffOf(request), { ...fields, expectedMonthlyVolumeMinor: BigInt(expectedMonthlyVolume), bank: bank ?? null }, staffContextOf(request));
    return { merchant: merchantOut(profile) };
  });

  scope.delete('/v1/merchant/session', {
    config: cfg({ merchantPermission: 'session.self', applicant: true }),
    schema: { tags, description, summary: 'Sign out (the session ends on the server)', response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await signOutStaff({ db: deps.db, box: deps.box, now: deps.now }, staffOf(request), staffContextOf(request));
    reply.header('set-cookie', clearedMerchantSessionCookie());
    return reply.code(204).send(null);
  });
}

const StoreFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }), address: Type.String({ maxLength: 400 }), city: Type.String({ minLength: 1, maxLength: 15 }),
  cityLocal: Type.Union([Type.String({ minLength: 1, maxLength: 15 }), Type.Null()]), postalCode: Type.String({ minLength: 7, maxLength: 8 }),
};

function registerStoreRoutes(scope: App, deps: portal.PortalDeps): void {
  scope.get('/v1/merchant/stores', { config: cfg({ merchantPermission: 'stores.read' }), schema: { tags, description, summary: 'This merchant\'s stores' } },
    async (request) => ({ stores: (await listStores(deps.db, staffOf(request).merchantId)).map(storeOut) }));

  scope.post('/v1/merchant/stores', {
    config: cfg({ merchantPermission: 'stores.manage' }),
    schema: { tags, description, summary: 'Open a store', body: Type.Object(StoreFields, { additionalProperties: false }) },
  }, async (request, reply) => {
    const principal = staffOf(request);
    return reply.code(201).send(storeOut(await createStore(deps, principal.merchantId, request.body, staffActor(principal), staffContextOf(request))));
  });

  scope.post('/v1/merchant/stores/:id', {
    config: cfg({ merchantPermission: 'stores.manage' }),
    schema: { tags, description, summary: 'Change a store\'s name, address, city (QR tag 60), local city (tag 64) or postal code (tag 61)', params: IdParams,
      body: Type.Partial(Type.Object(StoreFields, { additionalProperties: false }), { minProperties: 1 }) },
  }, async (request) => {
    const principal = staffOf(request);
    return storeOut(await updateStore(deps, principal.merchantId, requireUuid(request.params.id, 'store_not_found'), request.body, staffActor(principal), staffContextOf(request)));
  });

  scope.get('/v1/merchant/stores/:id/qr.png', {
    config: cfg({ merchantPermission: 'stores.read' }), schema: { tags, description, summary: 'The store\'s static QR code as PNG', params: IdParams },
  }, async (request, reply) => {
    const { payload } = await portal.storeQrPayload(deps, staffOf(request), requireUuid(request.params.id, 'store_not_found'));
    reply.type('image/png').header('cache-control', 'private, no-cache');
    return storeQrPng(payload);
  });

  const PosterQuery = Type.Object({ size: Type.Optional(Type.Union([Type.Literal('A5'), Type.Literal('A4')])) }, { additionalProperties: false });
  const posters = {
    svg: { type: 'image/svg+xml; charset=utf-8', make: async (input: PosterInput) => storePosterSvg(input), what: 'SVG (prints at its paper size)' },
    png: { type: 'image/png', make: storePosterPng, what: `PNG at ${POSTER_PNG_DPI} dpi` },
    pdf: { type: 'application/pdf', make: storePosterPdf, what: 'PDF of exactly A5 or A4, the Japanese font embedded' },
  } as const;
  for (const [format, poster] of Object.entries(posters)) {
    scope.get(`/v1/merchant/stores/:id/poster.${format}`, {
      config: cfg({ merchantPermission: 'stores.read' }),
      schema: { tags, description, summary: `The store's printable QR poster (A5 or A4, default A5) as ${poster.what}, with its name in Japanese, Koban's mark and the amount-entry instruction`,
        params: IdParams, querystring: PosterQuery },
    }, async (request, reply) => {
      const qr = await portal.storeQrPayload(deps, staffOf(request), requireUuid(request.params.id, 'store_not_found'));
      const size = request.query.size ?? 'A5';
      reply.type(poster.type).header('cache-control', 'private, no-cache').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .header('content-disposition', `inline; filename="koban-poster-${size}.${format}"`);
      return poster.make({ payload: qr.payload, storeName: qr.storeName, merchantName: qr.merchantName, size });
    });
  }

  scope.get('/v1/merchant/terminals', { config: cfg({ merchantPermission: 'terminals.read' }), schema: { tags, description, summary: 'This merchant\'s tills, with when each was last active' } },
    async (request) => ({ terminals: (await listTerminals(deps.db, staffOf(request).merchantId)).map(terminalOut) }));

  scope.post('/v1/merchant/terminals', {
    config: cfg({ merchantPermission: 'terminals.manage' }),
    schema: { tags, description, summary: 'Register a till in a store', body: Type.Object({ storeId: Type.String({ maxLength: 64 }), name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const principal = staffOf(request);
    const terminal = await createTerminal(deps, principal.merchantId, requireUuid(request.body.storeId, 'store_not_found'), request.body.name, staffActor(principal), staffContextOf(request));
    return reply.code(201).send(terminalOut(terminal));
  });

  scope.post('/v1/merchant/terminals/:id/activation-code', {
    config: cfg({ merchantPermission: 'terminals.manage' }),
    schema: { tags, description, summary: 'A one-time code (15 min) that turns a browser into this till; the previous unused code stops working', params: IdParams },
  }, async (request, reply) => {
    const issued = await portal.issueTillCode(deps, staffOf(request), requireUuid(request.params.id, 'terminal_not_found'), staffContextOf(request));
    reply.header('cache-control', 'no-store');
    return { terminalId: issued.terminalId, code: issued.code, expiresAt: issued.expiresAt.toISOString() };
  });

  scope.post('/v1/merchant/terminals/:id/revoke', {
    config: cfg({ merchantPermission: 'terminals.manage' }), schema: { tags, description, summary: 'Revoke a till: its sessions are refused from the next request', params: IdParams },
  }, async (request) => {
    const principal = staffOf(request);
    return terminalOut(await revokeTerminal(deps, principal.merchantId, requireUuid(request.params.id, 'terminal_not_found'), staffActor(principal), staffContextOf(request)));
  });
}

function registerSalesRoutes(scope: App, deps: portal.PortalDeps): void {
  scope.get('/v1/merchant/payments', {
    config: cfg({ merchantPermission: 'sales.read' }),
    schema: { tags, description, summary: 'A business day\'s payments (default today in Japan), newest first; q searches receipt number or amount',
      querystring: Type.Object({
        date: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })), q: Type.Optional(Type.String({ maxLength: 64 })),
        storeId: Type.Optional(Type.String({ format: 'uuid' })), terminalId: Type.Optional(Type.String({ format: 'uuid' })),
        status: Type.Optional(Type.Union(['CREATED', 'COMPLETED', 'REFUNDED', 'FAILED', 'CANCELED', 'EXPIRED'].map((s) => Type.Literal(s)))),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SALES_PAGE_MAX })),
      }, { additionalProperties: false }) },
  }, async (request) => {
    const q = request.query;
    const date = q.date ?? businessDate(deps.now());
    if (!isBusinessDate(date)) throw new KobanError('validation_failed', { errors: [{ pointer: '/query/date', message: 'is not a date' }] });
    const lines = await listSales(deps.db, staffOf(request).merchantId, { date, q: q.q ?? null, storeId: q.storeId ?? null, terminalId: q.terminalId ?? null, status: q.status ?? null, limit: q.limit ?? 100 });
    return { date, payments: lines.map((l) => paymentOut(l.payment, l.storeName, l.terminalName)) };
  });

  scope.get('/v1/merchant/payments/:id', {
    config: cfg({ merchantPermission: 'sales.read' }), schema: { tags, description, summary: 'One payment with its refunds and timeline', params: IdParams },
  }, async (request) => {
    const sale = await readSale(deps.db, staffOf(request).merchantId, requireUuid(request.params.id, 'payment_not_found'));
    return { payment: paymentOut(sale.payment, sale.storeName, sale.terminalName), refunds: sale.refunds.map(refundOut),
      timeline: sale.timeline.map((t) => ({ at: t.at.toISOString(), kind: t.kind, detail: t.detail })) };
  });

  scope.post('/v1/merchant/payments/:id/refunds', {
    config: cfg({ merchantPermission: 'sales.refund' }),
    schema: { tags, description, summary: 'Refund part or all of a payment, with a reason (the payments module\'s own refund)', params: IdParams,
      body: Type.Object({ amount: Type.Integer({ minimum: 1, maximum: 1e12 }), reason: Reason }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const refund = await portal.refundSale(deps, staffOf(request), requireUuid(request.params.id, 'payment_not_found'), BigInt(request.body.amount), request.body.reason, staffContextOf(request));
    return reply.code(201).send(refundOut(refund));
  });

  scope.post('/v1/merchant/payments/:id/cancel', {
    config: cfg({ merchantPermission: 'sales.refund' }),
    schema: { tags, description, summary: 'Cancel today\'s payment in full, with a reason', params: IdParams, body: Type.Object({ reason: Reason }, { additionalProperties: false }) },
  }, async (request) => {
    const payment = await portal.cancelSale(deps, staffOf(request), requireUuid(request.params.id, 'payment_not_found'), request.body.reason, staffContextOf(request));
    return paymentOut(payment, null, null);
  });
}

function registerMoneyRoutes(scope: App, deps: portal.PortalDeps): void {
  scope.get('/v1/merchant/statements', { config: cfg({ merchantPermission: 'money.read' }), schema: { tags, description, summary: 'Daily settlement statements with fees and payout status, newest first' } },
    async (request) => ({ statements: (await listStatements(deps.db, staffOf(request).merchantId)).map(statementOut) }));

  scope.get('/v1/merchant/statements/:date/csv', {
    config: cfg({ merchantPermission: 'money.read' }),
    schema: { tags, description, summary: 'One day\'s statement as CSV (every payment, refund and cancel, then the totals)', params: Type.Object({ date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }) }) },
  }, async (request, reply) => {
    const csv = await portal.statementCsv(deps, staffOf(request), request.params.date);
    reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="koban-statement-${request.params.date}.csv"`).header('cache-control', 'no-store');
    return csv;
  });

  scope.get('/v1/merchant/sales-by-day', {
    config: cfg({ merchantPermission: 'money.read' }),
    schema: { tags, description, summary: 'Sales by business day and store since a date (default 30 days back)', querystring: Type.Object({ from: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })) }, { additionalProperties: false }) },
  }, async (request) => {
    const from = request.query.from ?? businessDate(new Date(deps.now().getTime() - 30 * 86_400_000));
    const days = await salesByDay(deps.db, staffOf(request).merchantId, from);
    return { from, days: days.map((d) => ({ date: d.date, storeId: d.storeId, storeName: d.storeName, count: d.count, gross: wireInteger(d.grossMinor), refunded: wireInteger(d.refundedMinor) })) };
  });
}

function registerDeveloperRoutes(scope: App, deps: portal.PortalDeps): void {
  registerTestWalletRoutes(scope, deps);

  scope.get('/v1/merchant/api-keys', { config: cfg({ merchantPermission: 'developers.read' }), schema: { tags, description, summary: 'API keys (never their secrets)' } },
    async (request) => ({ keys: (await portal.apiKeys(deps, staffOf(request))).map((k) => ({
      credentialId: k.credentialId, apiKey: k.apiKey, status: k.status, mode: k.mode, name: k.name, createdAt: k.createdAt.toISOString(), revokedAt: iso(k.revokedAt),
    })) }));

  scope.post('/v1/merchant/api-keys', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: {
      tags, description, summary: 'Create an API key (also how to rotate: create, switch, then revoke the old one); the secret is shown once. A test key reaches only test data (the merchant\'s test twin)',
      body: Type.Object({
        mode: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('test')])),
        name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
      }, { additionalProperties: false }),
    },
    // A body is optional (older clients post none): absent means a live key without a name.
    preValidation: async (request) => { request.body ??= {}; },
  }, async (request, reply) => {
    const issued = await portal.newApiKey(deps, staffOf(request), staffContextOf(request), { mode: request.body.mode ?? 'live', name: request.body.name ?? null });
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ credentialId: issued.credentialId, apiKey: issued.apiKey, apiSecret: issued.apiSecret, mode: issued.mode, name: issued.name });
  });

  scope.post('/v1/merchant/api-keys/:id/revoke', {
    config: cfg({ merchantPermission: 'developers.manage' }), schema: { tags, description, summary: 'Revoke an API key (refused everywhere within 5 s)', params: IdParams, response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await portal.dropApiKey(deps, staffOf(request), request.params.id, staffContextOf(request));
    return reply.code(204).send(null);
  });

  const endpointOut = (e: { endpointId: string; url: string; status: string; format?: string; previousSecretExpiresAt: Date | null; createdAt: Date; updatedAt: Date }) => ({
    endpointId: e.endpointId, url: e.url, disabled: e.status === 'disabled', format: e.format ?? 'koban', previousSecretExpiresAt: iso(e.previousSecretExpiresAt), createdAt: e.createdAt.toISOString(), updatedAt: e.updatedAt.toISOString(),
  });
  scope.get('/v1/merchant/webhook-endpoints', { config: cfg({ merchantPermission: 'developers.read' }), schema: { tags, description, summary: 'Webhook endpoints (never their secrets)' } },
    async (request) => ({ endpoints: (await portal.webhookEndpoints(deps, staffOf(request))).map(endpointOut) }));

  scope.post('/v1/merchant/webhook-endpoints', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: { tags, description, summary: 'Add a webhook endpoint; the signing secret is shown once', body: Type.Object({ url: Type.String({ minLength: 8, maxLength: 2048 }) }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const result = await portal.addWebhookEndpoint(deps, staffOf(request), request.body.url, staffContextOf(request));
    reply.header('cache-control', 'no-store');
    return reply.code(result.created ? 201 : 200).send(result.created ? { endpointId: result.endpointId, url: result.url, signingSecret: result.signingSecret } : endpointOut(result));
  });

  scope.post('/v1/merchant/webhook-endpoints/:id', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: { tags, description, summary: 'Change the URL or the payload format (koban, paypay), disable or enable', params: IdParams,
      body: Type.Object({ url: Type.Optional(Type.String({ minLength: 8, maxLength: 2048 })), disabled: Type.Optional(Type.Boolean()),
        format: Type.Optional(Type.Union([Type.Literal('koban'), Type.Literal('paypay')])) }, { additionalProperties: false, minProperties: 1 }) },
  }, async (request) => endpointOut(await portal.changeWebhookEndpoint(deps, staffOf(request), requireUuid(request.params.id, 'not_found'), request.body, staffContextOf(request))));

  scope.post('/v1/merchant/webhook-endpoints/:id/rotate-secret', {
    config: cfg({ merchantPermission: 'developers.manage' }), schema: { tags, description, summary: 'New signing secret (shown once); the old one signs beside it for 24 h', params: IdParams },
  }, async (request, reply) => {
    const rotated = await portal.rotateWebhookEndpointSecret(deps, staffOf(request), requireUuid(request.params.id, 'not_found'), staffContextOf(request));
    reply.header('cache-control', 'no-store');
    return { endpointId: rotated.endpointId, signingSecret: rotated.signingSecret, previousSecretExpiresAt: iso(rotated.previousSecretExpiresAt) };
  });

  scope.post('/v1/merchant/webhook-test', {
    config: cfg({ merchantPermission: 'developers.manage' }), schema: { tags, description, summary: 'Send a test.ping event to every active endpoint', response: { 202: Type.Null() } },
  }, async (request, reply) => {
    await portal.sendTestEvent(deps, staffOf(request), staffContextOf(request));
    return reply.code(202).send(null);
  });

  scope.get('/v1/merchant/webhook-deliveries', {
    config: cfg({ merchantPermission: 'developers.read' }),
    schema: { tags, description, summary: 'Delivery log, newest first', querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), startingAfter: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false }) },
  }, async (request) => {
    const page = await portal.deliveries(deps, staffOf(request), request.query.limit ?? 50, request.query.startingAfter ?? null);
    return { deliveries: page.deliveries.map((d) => ({ ...d, createdAt: d.createdAt.toISOString(), deliveredAt: iso(d.deliveredAt) })), hasMore: page.hasMore };
  });

  scope.post('/v1/merchant/webhook-deliveries/:id/redeliver', {
    config: cfg({ merchantPermission: 'developers.manage' }), schema: { tags, description, summary: 'Send a delivery again', params: IdParams, response: { 202: Type.Null() } },
  }, async (request, reply) => {
    await portal.redeliverWebhook(deps, staffOf(request), requireUuid(request.params.id, 'not_found'), staffContextOf(request));
    return reply.code(202).send(null);
  });
}

function registerStaffRoutes(scope: App, deps: portal.PortalDeps, _audit: AuditLog): void {
  const staffDeps = { db: deps.db, box: deps.box, now: deps.now };
  scope.get('/v1/merchant/users', { config: cfg({ merchantPermission: 'staff.manage' }), schema: { tags, description, summary: 'This merchant\'s staff' } },
    async (request) => ({ users: (await listStaffUsers(deps.db, staffOf(request).merchantId)).map(userOut) }));

  scope.post('/v1/merchant/users', {
    config: cfg({ merchantPermission: 'staff.manage' }),
    schema: { tags, description, summary: 'Add a staff member; answers their one-time password and authenticator secret',
      body: Type.Object({ email: Type.String({ maxLength: 254 }), displayName: Type.String({ minLength: 1, maxLength: 100 }), role: Type.Union(MERCHANT_ROLES.map((r) => Type.Literal(r))) }, { additionalProperties: false }) },
  }, async (request, reply) => {
    const principal = staffOf(request);
    const created = await createStaffUser(staffDeps, { merchantId: principal.merchantId, ...request.body }, staffActor(principal), staffContextOf(request));
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ user: userOut(created.user), password: created.password, totpSecret: created.totpSecret, totpUri: created.totpUri });
  });

  scope.post('/v1/merchant/users/:id/role', {
    config: cfg({ merchantPermission: 'staff.manage' }),
    schema: { tags, description, summary: 'Change a staff member\'s role (at once, on their next request); never your own, never the last owner', params: IdParams,
      body: Type.Object({ role: Type.Union(MERCHANT_ROLES.map((r) => Type.Literal(r))) }, { additionalProperties: false }) },
  }, async (request) => {
    const principal = staffOf(request);
    return userOut(await changeStaffRole(staffDeps, principal.merchantId, requireUuid(request.params.id, 'not_found'), request.body.role, staffActor(principal), staffContextOf(request)));
  });

  scope.post('/v1/merchant/users/:id/disable', {
    config: cfg({ merchantPermission: 'staff.manage' }), schema: { tags, description, summary: 'Disable a staff member (their sessions end at once)', params: IdParams },
  }, async (request) => {
    const principal = staffOf(request);
    return userOut(await disableStaffUser(staffDeps, principal.merchantId, requireUuid(request.params.id, 'not_found'), staffActor(principal), staffContextOf(request)));
  });
}

/**
 * Test wallets (src/wallet/test-wallets.ts): sandbox customers holding free test yen, which pay only the merchant's
 * test mode (a real wallet never can). The developer pays with them here, through the wallet's own payment pipeline.
 */
function registerTestWalletRoutes(scope: App, deps: portal.PortalDeps): void {
  const walletOut = (w: { customerId: string; label: string; balanceMinor: bigint; createdAt: Date }) => ({
    testWalletId: w.customerId, label: w.label, balance: wireInteger(w.balanceMinor), createdAt: w.createdAt.toISOString(),
  });
  const TestAmount = Type.Integer({ minimum: 1, maximum: 1_000_000 });
  const WalletParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
  scope.get('/v1/merchant/test-wallets', { config: cfg({ merchantPermission: 'developers.read' }), schema: { tags, description, summary: 'Test wallets and their test-yen balances' } },
    async (request) => ({ testWallets: (await portal.testWallets(deps, staffOf(request))).map(walletOut) }));

  scope.post('/v1/merchant/test-wallets', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: {
      tags, description, summary: 'Make a test wallet with free test yen: it pays only this merchant\'s test mode (test API keys), never a live merchant',
      body: Type.Object({ label: Type.String({ minLength: 1, maxLength: 64 }), initialBalance: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })) }, { additionalProperties: false }),
    },
  }, async (request, reply) => {
    const initial = request.body.initialBalance;
    const made = await portal.newTestWallet(deps, staffOf(request), staffContextOf(request), { label: request.body.label, initialMinor: initial === undefined ? null : BigInt(initial) });
    return reply.code(201).send(walletOut(made));
  });

  scope.post('/v1/merchant/test-wallets/:id/top-ups', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: {
      tags, description, summary: 'Add free test yen; an Idempotency-Key header makes a retry answer the first top-up',
      params: WalletParams, body: Type.Object({ amount: TestAmount }, { additionalProperties: false }),
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
    },
  }, async (request) => {
    return walletOut(await portal.topUpTest(deps, staffOf(request), request.params.id, BigInt(request.body.amount), request.headers['idempotency-key'] ?? null, staffContextOf(request)));
  });

  scope.post('/v1/merchant/test-wallets/:id/payment-code', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: { tags, description, summary: 'A customer payment code of the test wallet, for a test till (the till API with a test key)', params: WalletParams },
  }, async (request, reply) => {
    const minted = await portal.testPaymentCode(deps, staffOf(request), request.params.id);
    reply.header('cache-control', 'no-store');
    return { codeId: minted.codeId, code: minted.code, expiresAt: minted.expiresAt.toISOString() };
  });

  scope.post('/v1/merchant/test-wallets/:id/payments', {
    config: cfg({ merchantPermission: 'developers.manage' }),
    schema: {
      tags, description, summary: 'Pay with the test wallet: an order QR (codeId, from POST /v2/codes with a test key) or a store QR (payload and amount)',
      params: WalletParams,
      body: Type.Union([
        Type.Object({ codeId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        Type.Object({ payload: Type.String({ minLength: 1, maxLength: 512 }), amount: TestAmount, idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }, { additionalProperties: false }),
      ]),
    },
  }, async (request) => {
    const staff = staffOf(request);
    const body = request.body;
    const payment = 'codeId' in body
      ? await portal.payOrderWithTestWallet(deps, staff, request.params.id, body.codeId)
      : await portal.payStoreWithTestWallet(deps, staff, request.params.id, body.payload, BigInt(body.amount), body.idempotencyKey ?? null);
    return { paymentId: payment.id, merchantPaymentId: payment.merchantPaymentId, status: payment.status, amount: wireInteger(payment.amountMinor), failureCode: payment.failureCode };
  });
}

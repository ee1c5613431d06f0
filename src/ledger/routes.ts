/**
 * The internal ledger API (back office and other services), a thin adapter: parse, call the ledger,
 * map. Amounts go out as strings of digits; bigint never meets JSON.stringify.
 */
import { Type, type Static } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { App } from '../http/app.ts';
import { requireBearerToken } from '../http/service-token.ts';
import { KobanError } from '../platform/errors.ts';
import { UUID_PATTERN } from '../platform/ids.ts';
import { parseAmountMinor } from '../platform/money.ts';
import { requireTransferCreated, type Ledger } from './ledger.ts';
import type { Account, Transfer, TransferRequest } from './types.ts';
import { LEDGER_LIMITS } from './validate.ts';

const Uuid = Type.String({ pattern: UUID_PATTERN, description: 'UUID (UUIDv7 recommended: time-ordered)' });
const AmountIn = Type.Union([Type.String({ pattern: '^[1-9][0-9]{0,18}$' }), Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })], {
  description: 'Positive integer of minor units: a string of digits ("1200", preferred) or a safe JSON integer',
});
const Minor = Type.String({ pattern: '^-?[0-9]+$', description: 'Integer minor units as a string' });

const AccountOut = Type.Object({
  id: Type.String(), ledger: Type.Integer(), code: Type.Integer(), flags: Type.Integer(),
  status: Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')]),
  debitsPending: Minor, debitsPosted: Minor, creditsPending: Minor, creditsPosted: Minor,
  balance: Minor, available: Minor, reference: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
});
const TransferOut = Type.Object({
  id: Type.String(), debitAccountId: Type.String(), creditAccountId: Type.String(), amount: Minor,
  pendingId: Type.Union([Type.String(), Type.Null()]), ledger: Type.Integer(), code: Type.Integer(), flags: Type.Integer(),
  timeoutSeconds: Type.Integer(), reference: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
});
const NewAccountIn = Type.Object({
  id: Uuid, ledger: Type.Integer({ minimum: 1 }), code: Type.Integer({ minimum: 1, maximum: 32767 }),
  flags: Type.Integer({ minimum: 0, maximum: 2, default: 0 }), reference: Type.Optional(Type.String({ maxLength: 128 })),
}, { additionalProperties: false });
const TransferIn = Type.Object({
  id: Uuid,
  debitAccountId: Type.Optional(Uuid),
  creditAccountId: Type.Optional(Uuid),
  amount: Type.Optional(AmountIn),
  pendingId: Type.Optional(Uuid),
  ledger: Type.Integer({ minimum: 1 }),
  code: Type.Integer({ minimum: 1, maximum: 32767 }),
  flags: Type.Optional(Type.Integer({ minimum: 0, maximum: 15, description: '1 linked, 2 pending, 4 post pending, 8 void pending' })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: LEDGER_LIMITS.pendingTimeoutSecondsMax })),
  reference: Type.Optional(Type.String({ maxLength: LEDGER_LIMITS.referenceLengthMax })),
}, { additionalProperties: false });
const TransferResultOut = Type.Object({
  id: Type.String(), result: Type.String(), transfer: Type.Union([TransferOut, Type.Null()]),
  differentFields: Type.Optional(Type.Array(Type.String())),
});
const IdParams = Type.Object({ id: Uuid });

export function registerLedgerRoutes(app: App, ledger: Ledger, token: string): void {
  const security = [{ ledgerToken: [] }];
  const tags = ['ledger'];
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    scope.addHook('preHandler', requireBearerToken(token));

    scope.post('/v1/ledger/accounts', {
      schema: { tags, security, summary: 'Create accounts (idempotent by id)', body: Type.Object({ accounts: Type.Array(NewAccountIn, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }), response: { 200: Type.Object({ accounts: Type.Array(AccountOut) }) } },
    }, async (request) => {
      const accounts = await ledger.createAccounts(request.body.accounts.map((a) => ({ id: a.id, ledger: a.ledger, code: a.code, flags: a.flags ?? 0, reference: a.reference ?? null })));
      return { accounts: accounts.map(accountOut) };
    });

    scope.get('/v1/ledger/accounts/:id', { schema: { tags, security, summary: 'An account with its balances', params: IdParams, response: { 200: AccountOut } } }, async (request) => {
      const account = await ledger.getAccount(request.params.id);
      if (account === null) throw new KobanError('account_not_found', { detail: `no account ${request.params.id}` });
      return accountOut(account);
    });

    scope.post('/v1/ledger/accounts/:id/status', {
      schema: { tags, security, summary: 'Freeze, unfreeze or close an account', params: IdParams, body: Type.Object({ status: Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')]) }, { additionalProperties: false }), response: { 200: AccountOut } },
    }, async (request) => accountOut(await ledger.setAccountStatus(request.params.id, request.body.status)));

    scope.get('/v1/ledger/accounts/:id/statement', {
      schema: { tags, security, summary: 'Account history, newest first', params: IdParams, querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })), cursor: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ entries: Type.Array(Type.Object({ side: Type.String(), holdStatus: Type.Union([Type.String(), Type.Null()]), transfer: TransferOut })), nextCursor: Type.Union([Type.String(), Type.Null()]) }) } },
    }, async (request) => {
      const statement = await ledger.statement({ accountId: request.params.id, limit: request.query.limit === undefined ? 50 : Number(request.query.limit), cursor: request.query.cursor ?? null });
      return { entries: statement.entries.map((e) => ({ side: e.side, holdStatus: e.holdStatus, transfer: transferOut(e.transfer) })), nextCursor: statement.nextCursor };
    });

    scope.post('/v1/ledger/transfers', {
      schema: { tags, security, summary: 'Create transfers; a linked group commits or fails together', description: 'Answers 200 with one result per transfer when all were created (or already existed); otherwise 422 transfers_rejected listing each result, and nothing was written.',
        body: Type.Object({ transfers: Type.Array(TransferIn, { minItems: 1, maxItems: LEDGER_LIMITS.transfersPerRequestMax }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ results: Type.Array(TransferResultOut) }) } },
    }, async (request) => {
      const requests = request.body.transfers.map((t, index) => toTransferRequest(t, index, ledger.maxAmountMinor));
      const results = await ledger.createTransfers(requests);
      requireTransferCreated(results);
      return { results: results.map((r) => ({ id: r.id, result: r.result, transfer: r.transfer === null ? null : transferOut(r.transfer) })) };
    });

    scope.get('/v1/ledger/transfers/:id', {
      schema: { tags, security, summary: 'Look up a transfer by id (or the failure remembered for it)', params: IdParams,
        response: { 200: Type.Object({ state: Type.String(), transfer: Type.Optional(TransferOut), result: Type.Optional(Type.String()) }) } },
    }, async (request) => {
      const found = await ledger.lookupTransfer(request.params.id);
      if (found === null) throw new KobanError('transfer_not_found', { detail: `no transfer ${request.params.id}` });
      return found.state === 'created' ? { state: found.state, transfer: transferOut(found.transfer) } : { state: found.state, result: found.result };
    });
  });
}

function toTransferRequest(body: Static<typeof TransferIn>, index: number, maxAmountMinor: bigint): TransferRequest {
  return {
    id: body.id,
    debitAccountId: body.debitAccountId ?? null,
    creditAccountId: body.creditAccountId ?? null,
    amount: body.amount === undefined ? null : parseAmountMinor(body.amount, maxAmountMinor, `/body/transfers/${index}/amount`),
    pendingId: body.pendingId ?? null,
    ledger: body.ledger,
    code: body.code,
    flags: body.flags ?? 0,
    timeoutSeconds: body.timeoutSeconds ?? 0,
    reference: body.reference ?? null,
  };
}

export function accountOut(account: Account) {
  return {
    id: account.id, ledger: account.ledger, code: account.code, flags: account.flags, status: account.status,
    debitsPending: account.debitsPending.toString(), debitsPosted: account.debitsPosted.toString(),
    creditsPending: account.creditsPending.toString(), creditsPosted: account.creditsPosted.toString(),
    balance: (account.creditsPosted - account.debitsPosted).toString(),
    available: (account.creditsPosted - account.debitsPosted - account.debitsPending).toString(),
    reference: account.reference, createdAt: account.createdAt.toISOString(),
  };
}

export function transferOut(transfer: Transfer) {
  return {
    id: transfer.id, debitAccountId: transfer.debitAccountId, creditAccountId: transfer.creditAccountId, amount: transfer.amount.toString(),
    pendingId: transfer.pendingId, ledger: transfer.ledger, code: transfer.code, flags: transfer.flags,
    timeoutSeconds: transfer.timeoutSeconds, reference: transfer.reference, createdAt: transfer.createdAt.toISOString(),
  };
}

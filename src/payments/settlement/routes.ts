/**
 * Settlement statements by API on the OPA listener (Koban's extension; PayPay mails a recon file's URL in a
 * `file.created` webhook): the statements, one statement, and its reconciliation CSV (reconciliation.ts, the
 * same file `koban settlement close` writes). `settlement.statement_ready` is the event that one is ready.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { opaReply } from '../../merchants/opa/result-info.ts';
import { checkBody, type OpaServer } from '../../merchants/opa/server.ts';
import type { Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { isBusinessDate } from '../time.ts';
import { listStatements, readSettlement, statementView } from './close.ts';
import { reconciliationCsv } from './reconciliation.ts';

const STATEMENTS_PAGE_DEFAULT = 30;
const ListQuery = Compile(Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })),
}, { additionalProperties: false }));

function businessDateOf(params: Readonly<Record<string, string>>): string {
  const date = params.businessDate ?? '';
  if (!isBusinessDate(date)) throw new KobanError('validation_failed', { errors: [{ pointer: '/params/businessDate', message: 'must be YYYY-MM-DD' }] });
  return date;
}

export function registerSettlementRoutes(server: OpaServer, db: Database): void {
  server.route('GET', '/v2/settlements', async (call) => {
    const { assumeMerchant: _scoping, ...rest } = call.query;
    const query = checkBody(ListQuery, Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    const page = await listStatements(db.pool, call.merchantId, { limit: Number(query.limit ?? STATEMENTS_PAGE_DEFAULT), before: query.before ?? null });
    const statements = page.statements.map(statementView);
    return opaReply('SUCCESS', { data: { statements, hasMore: page.hasMore, nextCursor: page.hasMore ? statements.at(-1)?.businessDate ?? null : null } });
  });

  server.route('GET', '/v2/settlements/:businessDate', async (call) => {
    const statement = await readSettlement(db.pool, call.merchantId, businessDateOf(call.params));
    if (statement === null) throw new KobanError('not_found', { detail: 'no statement for this business day (yet)' });
    return opaReply('SUCCESS', { data: statementView(statement) });
  });

  server.route('GET', '/v2/settlements/:businessDate/csv', async (call) => {
    const date = businessDateOf(call.params);
    // Only a closed day has a file: before the close the totals lines would be missing and the lines still moving.
    if ((await readSettlement(db.pool, call.merchantId, date)) === null) throw new KobanError('not_found', { detail: 'no statement for this business day (yet)' });
    return { file: { contentType: 'text/csv; charset=utf-8', fileName: `koban-${date}.csv`, body: await reconciliationCsv(db, call.merchantId, date) } };
  });
}

/**
 * The regulator's figures for operators (issue 19): `GET /v1/ops/regulatory/outstanding` — customer balances
 * of each kind at an instant or at a base date, the prepaid security deposit (half of the unused prepaid
 * balance once it exceeds ¥10M, Art. 14) and the funds-transfer guarantee (100%, Art. 43), all recomputed
 * from the ledger's transfers. Permission `regulatory.read` (finance, administrators).
 */
import { Type } from 'typebox';
import type { App } from './http/app.ts';
import { OPS_SECURITY_NOTE, OPS_TAG, type OpsRouteConfig } from './operations/http.ts';
import type { Database } from './platform/db/database.ts';
import { KobanError } from './platform/errors.ts';
import { baseDateEnd, filingDeadline, outstandingAt, prepaidSecurityDeposit } from './wallet/regulatory.ts';

export function registerRegulatoryRoutes(scope: App, db: Database, now: () => Date): void {
  scope.get('/v1/ops/regulatory/outstanding', {
    config: { permission: 'regulatory.read' } satisfies OpsRouteConfig,
    schema: { tags: [OPS_TAG], summary: 'Outstanding customer balances, security deposit and guarantee, recomputed from the ledger at an instant or a base date', description: OPS_SECURITY_NOTE,
      querystring: Type.Object({
        at: Type.Optional(Type.String({ format: 'date-time' })),
        baseDate: Type.Optional(Type.String({ pattern: '^[0-9]{4}-(03-31|09-30)$' })),
      }, { additionalProperties: false }) },
  }, async (request) => {
    const { at, baseDate } = request.query;
    if (at !== undefined && baseDate !== undefined) throw new KobanError('validation_failed', { errors: [{ pointer: '/querystring', message: 'give at or baseDate, not both' }] });
    const instant = baseDate !== undefined ? baseDateEnd(baseDate) : at !== undefined ? new Date(at) : now();
    const figures = await outstandingAt(db.pool, instant);
    return {
      at: instant.toISOString(), baseDate: baseDate ?? null, filingDeadline: baseDate === undefined ? null : filingDeadline(baseDate),
      prepaid: { outstanding: figures.prepaidMinor.toString(), accounts: figures.prepaidAccounts, securityDepositRequired: prepaidSecurityDeposit(figures.prepaidMinor).toString() },
      fundsTransfer: { outstanding: figures.fundsTransferMinor.toString(), accounts: figures.fundsTransferAccounts, guaranteeRequired: figures.fundsTransferMinor.toString() },
    };
  });
}

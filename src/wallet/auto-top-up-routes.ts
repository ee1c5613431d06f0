/**
 * The wallet's auto top-up settings (issue 19): `GET /v1/wallet/auto-top-up` and `PUT /v1/wallet/auto-top-up`
 * (turning it on passes the top-up gate: step-up `top_up {amountMinor, fundingSourceId}` in X-Step-Up-Grant and
 * the charge PIN). Routes parse, call auto-top-up.ts and map.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { requestOrigin } from '../identity/http/guard.ts';
import { parseAmountMinor } from '../platform/money.ts';
import { UUID_PATTERN } from '../platform/ids.ts';
import { AUTO_TOP_UP_THRESHOLD_MAX_MINOR, readAutoTopUp, setAutoTopUp, type AutoTopUpSettings } from './auto-top-up.ts';
import type { Wallet } from './wallet.ts';

const tags = ['wallet funding'];
const AmountIn = Type.Union([Type.String({ maxLength: 40 }), Type.Integer()]);

export function registerAutoTopUpRoutes(app: App, wallet: Wallet): void {
  const caps = () => ({ perDayMax: wallet.deps.config.autoTopUp.perDayMax, amountMax: wallet.deps.config.autoTopUp.amountMaxMinor.toString(), thresholdMax: AUTO_TOP_UP_THRESHOLD_MAX_MINOR.toString() });
  const view = (row: AutoTopUpSettings | null) => ({
    settings: row === null ? null : {
      fundingSourceId: row.funding_source_id, threshold: row.threshold_minor.toString(), amount: row.amount_minor.toString(), enabled: row.enabled, disabledReason: row.disabled_reason,
    },
    caps: caps(),
  });
  app.get('/v1/wallet/auto-top-up', { schema: { tags, summary: 'The customer\'s auto top-up settings and their caps' } }, async (request) => {
    const session = await wallet.identity.guard(request);
    return view(await readAutoTopUp(wallet.deps.db.pool, session.customerId));
  });
  app.put('/v1/wallet/auto-top-up', {
    schema: {
      tags, summary: 'Set auto top-up (turning it on: step-up top_up {amountMinor, fundingSourceId} in X-Step-Up-Grant, and the charge PIN)',
      headers: Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 128 })) }),
      body: Type.Object({
        fundingSourceId: Type.String({ pattern: UUID_PATTERN }), threshold: AmountIn, amount: AmountIn, enabled: Type.Boolean(), pin: Type.Optional(Type.String({ maxLength: 16 })),
      }, { additionalProperties: false }),
    },
  }, async (request) => {
    const session = await wallet.identity.guard(request);
    const body = request.body;
    const grant = request.headers['x-step-up-grant'];
    const row = await setAutoTopUp(wallet.deps, wallet.identity, session, {
      fundingSourceId: body.fundingSourceId, enabled: body.enabled, pin: body.pin, grant: typeof grant === 'string' ? grant : undefined,
      thresholdMinor: parseAmountMinor(body.threshold, AUTO_TOP_UP_THRESHOLD_MAX_MINOR, '/body/threshold'),
      amountMinor: parseAmountMinor(body.amount, wallet.deps.config.autoTopUp.amountMaxMinor, '/body/amount'),
    }, requestOrigin(request));
    return view(row);
  });
}

/**
 * Identity verification over HTTP (issue 19): the customer's `POST/GET /v1/customer/identity-verification`
 * and the provider's signed `POST /v1/webhooks/ekyc` (raw body, in its own scope like the acquirer's and the
 * bank's). Thin adapters over kyc.ts.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { WEBHOOK_SIGNATURE_HEADER } from '../funding/webhook-signature.ts';
import type { Kyc } from './kyc.ts';
import type { KycApplication } from './verification.ts';

const tags = ['identity verification'];
const WEBHOOK_BODY_LIMIT_BYTES = 64 * 1024;
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const SubmissionBody = Type.Object({
  fullName: Text(200), dateOfBirth: Type.String({ pattern: '^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' }),
  address: Text(400), documentRef: Text(200), selfieRef: Text(200),
}, { additionalProperties: false });
const ApplicationOut = Type.Object({
  applicationId: Type.String(), status: Type.String(), reason: Type.Union([Type.String(), Type.Null()]),
  submittedAt: Type.String(), decidedAt: Type.Union([Type.String(), Type.Null()]),
});

export function applicationView(application: KycApplication) {
  return {
    applicationId: application.id, status: application.status, reason: application.reason,
    submittedAt: application.createdAt.toISOString(), decidedAt: application.decidedAt?.toISOString() ?? null,
  };
}

export function registerKycRoutes(app: App, kyc: Kyc, guard: (request: FastifyRequest) => Promise<{ customerId: string }>): void {
  app.post('/v1/customer/identity-verification', {
    schema: { tags, summary: 'Send name, date of birth, address and document and selfie references to the eKYC provider; the answer comes later',
      body: SubmissionBody, response: { 202: ApplicationOut } },
  }, async (request, reply) => {
    const { customerId } = await guard(request);
    reply.code(202);
    return applicationView(await kyc.submit(customerId, request.body));
  });

  app.get('/v1/customer/identity-verification', {
    schema: { tags, summary: 'Whether the customer is verified, and their latest application',
      response: { 200: Type.Object({ verified: Type.Boolean(), latest: Type.Union([ApplicationOut, Type.Null()]) }) } },
  }, async (request) => {
    const { customerId } = await guard(request);
    const state = await kyc.state(customerId);
    return { verified: state.verified, latest: state.latest === null ? null : applicationView(state.latest) };
  });

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));
    scope.post('/v1/webhooks/ekyc', { schema: { tags, summary: 'Signed webhook from the eKYC provider' } }, async (request) => {
      const header = request.headers[WEBHOOK_SIGNATURE_HEADER];
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const userAgent = request.headers['user-agent'];
      return { status: await kyc.receiveWebhook(typeof header === 'string' ? header : undefined, raw, { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent : null }) };
    });
  });
}

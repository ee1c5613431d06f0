/** The merchant listener describes itself: an OpenAPI 3.1 document of exactly the routes it serves, and a reference page. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.close());

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>; components: { securitySchemes: Record<string, unknown> } };

describe('OpenAPI document of the OPA listener', () => {
  it('serves OpenAPI 3.1 at /openapi.json without a signature, listing the PayPay and Koban routes with OPA-Auth and 429', async () => {
    const response = await h.module.opa.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json() as Doc;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v2/codes', '/v2/webhooks/endpoints', '/v2/webhooks/endpoints/{endpointId}/rotate-secret']));
    expect(doc.paths['/v2/webhooks/endpoints/{endpointId}']?.delete).toBeDefined();
    expect(doc.paths['/v2/codes']?.post?.responses['429']).toBeDefined();
    expect(doc.components.securitySchemes.opaAuth).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists only routes the listener serves: each answers an unsigned call with 401 UNAUTHORIZED, not 404', async () => {
    const doc = (await h.module.opa.app.inject({ method: 'GET', url: '/openapi.json' })).json() as Doc;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{[^}]+\}/g, '00000000-0000-7000-8000-000000000000');
        const answer = await h.module.opa.app.inject({ method: method.toUpperCase() as 'GET', url });
        expect({ path, method, status: answer.statusCode }).toEqual({ path, method, status: 401 });
      }
    }
  });

  it('serves a reference page over the same document, script-free', async () => {
    const page = await h.module.opa.app.inject({ method: 'GET', url: '/reference' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body).toContain('/v2/webhooks/endpoints/{endpointId}');
    expect(page.body).toContain('RATE_LIMIT');
    expect(page.body).not.toContain('<script');
  });
});

// The OpenAPI 3.1 document of the merchant listener, built from the routes actually registered on it (so it
// never lists a path the listener does not serve), with the OPA-Auth scheme, the resultInfo envelope and every
// result code with its HTTP status and codeId. Request and response bodies are described by the envelope only:
// the field-level schemas live in the route files (TypeBox) and PayPay's OPA reference.
import { OPA_RESULT_CODES } from './result-info.ts';

export interface DocumentedRoute { readonly method: 'GET' | 'POST' | 'DELETE'; readonly url: string }

const toOpenApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const pathParameters = (url: string): string[] => [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '');
const operationId = (route: DocumentedRoute): string =>
  `${route.method.toLowerCase()}${route.url.split('/').filter((p) => p !== '').map((p) => p.replace(/^:/, 'by-')).map((p) => p.replace(/(^|[-_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase())).join('')}`;

function statusesFor(): Record<string, { description: string; content: Record<string, unknown> }> {
  const byStatus = new Map<number, string[]>();
  for (const [code, spec] of Object.entries(OPA_RESULT_CODES)) byStatus.set(spec.httpStatus, [...(byStatus.get(spec.httpStatus) ?? []), code]);
  const responses: Record<string, { description: string; content: Record<string, unknown> }> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = { description: `resultInfo.code one of: ${codes.join(', ')}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } } };
  }
  return responses;
}

export function buildOpenApiDocument(routes: readonly DocumentedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    const path = toOpenApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: operationId(route),
      security: [{ opaAuth: [] }],
      parameters: [
        ...pathParameters(route.url).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', maxLength: 255 } })),
        { name: 'assumeMerchant', in: 'query', required: false, schema: { type: 'string' }, description: 'PayPay scoping: must be the key\'s own merchant' },
      ],
      ...(route.method === 'POST' ? { requestBody: { required: false, content: { 'application/json': { schema: { type: 'object' } } } } } : {}),
      responses: statusesFor(),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Koban merchant API (PayPay OPA compatible)', version, description: 'Every answer is the resultInfo envelope with an X-REQUEST-ID header. 429 RATE_LIMIT answers carry Retry-After (seconds).' },
    paths,
    components: {
      securitySchemes: {
        opaAuth: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'OPA-Auth:<apiKey>:<HMAC-SHA256 signature>:<nonce>:<epoch>:<hash> as PayPay\'s SDKs compute it' },
      },
      schemas: {
        ResultInfo: { type: 'object', required: ['code', 'message', 'codeId'], properties: {
          code: { type: 'string', enum: Object.keys(OPA_RESULT_CODES) }, message: { type: 'string' }, codeId: { type: 'string' },
        } },
        Envelope: { type: 'object', required: ['resultInfo'], properties: { resultInfo: { $ref: '#/components/schemas/ResultInfo' }, data: {} } },
      },
    },
  };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plain reference page over the same document: operations, auth, result codes. No script. */
export function renderReferencePage(routes: readonly DocumentedRoute[]): string {
  const rows = [...routes].sort((a, b) => a.url.localeCompare(b.url)).map((r) => `<tr><td><code>${r.method}</code></td><td><code>${escapeHtml(toOpenApiPath(r.url))}</code></td></tr>`).join('');
  const codes = Object.entries(OPA_RESULT_CODES).map(([code, spec]) => `<tr><td><code>${code}</code></td><td>${spec.httpStatus}</td><td>${spec.codeId}</td><td>${escapeHtml(spec.message)}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Koban merchant API reference</title></head><body>
<h1>Koban merchant API reference</h1>
<p>PayPay OPA compatible. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Sign every call with OPA-Auth as PayPay's SDKs do; every answer is <code>{ resultInfo, data }</code>; <code>429 RATE_LIMIT</code> carries <code>Retry-After</code>.</p>
<h2>Operations</h2><table><thead><tr><th>Method</th><th>Path</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Result codes</h2><table><thead><tr><th>Code</th><th>HTTP</th><th>codeId</th><th>Message</th></tr></thead><tbody>${codes}</tbody></table>
</body></html>`;
}

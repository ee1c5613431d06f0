// A minimal browser for tests: keeps the IdP's cookies, never follows redirects on its own, and drives the
// dev IdP's HTML login form over real HTTP. Redirects are followed by hand so a test can stop at the RP's
// callback URL (nothing listens there) and inspect every hop.

export const REDIRECT_HOPS_MAX = 10;

export type Browser = {
  get(url: URL): Promise<Response>;
  postForm(url: URL, fields: Record<string, string>): Promise<Response>;
  cookieNames(): string[];
};

function storeCookies(jar: Map<string, string>, response: Response): void {
  for (const header of response.headers.getSetCookie()) {
    const [pair = '', ...attributes] = header.split(';');
    const separator = pair.indexOf('=');
    if (separator <= 0) continue;
    const name = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    const expired = attributes.some((attribute) => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
    if (value === '' || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

export function createBrowser(): Browser {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  async function send(url: URL, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set('cookie', cookieHeader());
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    storeCookies(jar, response);
    return response;
  }
  return {
    get: (url) => send(url, { method: 'GET' }),
    postForm: (url, fields) =>
      send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      }),
    cookieNames: () => [...jar.keys()],
  };
}

export function isUnder(url: URL, prefix: URL): boolean {
  return url.origin === prefix.origin && url.pathname === prefix.pathname;
}

export type Landing = { kind: 'callback'; url: URL } | { kind: 'page'; url: URL; status: number; html: string };

// Follows redirects until the RP's redirect URI (returned, not requested) or a non-redirect page.
export async function follow(browser: Browser, start: URL, redirectUri: URL, first?: Response): Promise<Landing> {
  let url = start;
  let response = first ?? (await browser.get(url));
  for (let hop = 0; hop < REDIRECT_HOPS_MAX; hop++) {
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) {
      return { kind: 'page', url, status: response.status, html: await response.text() };
    }
    await response.body?.cancel();
    url = new URL(location, url);
    if (isUnder(url, redirectUri)) return { kind: 'callback', url };
    response = await browser.get(url);
  }
  throw new Error(`more than ${REDIRECT_HOPS_MAX} redirects`);
}

export type LoginForm = { action: URL; formToken: string };

export function parseLoginForm(page: Extract<Landing, { kind: 'page' }>): LoginForm {
  const action = /<form method="post" action="([^"]+\/login)"/.exec(page.html)?.[1];
  const formToken = /name="form_token" value="([^"]+)"/.exec(page.html)?.[1];
  if (action === undefined || formToken === undefined) throw new Error(`no login form at ${page.url.href}`);
  return { action: new URL(action, page.url), formToken };
}

export type Credentials = { login: string; password: string };

// The whole user journey: authorization request → login form → password → back to the RP's callback.
export async function loginThroughBrowser(
  authorizationUrl: URL,
  credentials: Credentials,
  redirectUri: URL,
  browser: Browser = createBrowser(),
): Promise<URL> {
  const page = await follow(browser, authorizationUrl, redirectUri);
  if (page.kind !== 'page') return page.url;
  const form = parseLoginForm(page);
  const submitted = await browser.postForm(form.action, { form_token: form.formToken, ...credentials });
  const landing = await follow(browser, form.action, redirectUri, submitted);
  if (landing.kind !== 'callback') throw new Error(`login did not reach the callback (status ${landing.status})`);
  return landing.url;
}

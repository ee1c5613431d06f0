import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction, Provider } from 'oidc-provider';
import type { AccountStore } from './accounts.ts';
import { FormError, readForm, singleField } from './form.ts';
import { formTokenFor, formTokenMatches } from './form-token.ts';
import { renderErrorPage, renderLoginPage } from './html.ts';
import { LOGIN_ATTEMPTS_MAX, type LoginAttempts } from './login-attempts.ts';

export type InteractionDeps = {
  provider: Provider;
  accounts: AccountStore;
  formKey: Buffer;
  attempts: LoginAttempts;
};

export type InteractionRoute = { uid: string; action: 'show' | 'login' | 'abort' };

// oidc-provider interaction uids are nanoid strings; anything else is not one of ours.
const ROUTE = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|abort))?$/;
const INVALID_LOGIN = 'Invalid login or password.';

export function matchInteractionRoute(pathname: string): InteractionRoute | undefined {
  const match = ROUTE.exec(pathname);
  if (match === null || match[1] === undefined) return undefined;
  return { uid: match[1], action: match[2] === 'login' || match[2] === 'abort' ? match[2] : 'show' };
}

export function sendHtml(res: ServerResponse, statusCode: number, html: string): void {
  res.statusCode = statusCode;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  // No form-action directive: browsers apply it to the redirect chain that ends at the RP's callback.
  res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.end(html);
}

function loginPage(deps: InteractionDeps, details: Interaction, login: string, error?: string): string {
  const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : '';
  const input = { uid: details.uid, formToken: formTokenFor(deps.formKey, details.uid), clientId, login };
  return renderLoginPage(error === undefined ? input : { ...input, error });
}

async function deny(req: IncomingMessage, res: ServerResponse, deps: InteractionDeps, description: string) {
  await deps.provider.interactionFinished(
    req,
    res,
    { error: 'access_denied', error_description: description },
    { mergeWithLastSubmission: false },
  );
}

async function submitLogin(req: IncomingMessage, res: ServerResponse, deps: InteractionDeps, details: Interaction) {
  const form = await readForm(req);
  if (!formTokenMatches(deps.formKey, details.uid, singleField(form, 'form_token'))) {
    throw new FormError(403, 'form token mismatch');
  }
  const login = singleField(form, 'login');
  const accountId = await deps.accounts.verifyPassword(login, singleField(form, 'password'));
  if (accountId !== undefined) {
    deps.attempts.forget(details.uid);
    await deps.provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  if (deps.attempts.recordFailure(details.uid) >= LOGIN_ATTEMPTS_MAX) {
    deps.attempts.forget(details.uid);
    await deny(req, res, deps, 'too many failed login attempts');
    return;
  }
  sendHtml(res, 200, loginPage(deps, details, login, INVALID_LOGIN));
}

async function abort(req: IncomingMessage, res: ServerResponse, deps: InteractionDeps, details: Interaction) {
  const form = await readForm(req);
  if (!formTokenMatches(deps.formKey, details.uid, singleField(form, 'form_token'))) {
    throw new FormError(403, 'form token mismatch');
  }
  await deny(req, res, deps, 'the user cancelled the login');
}

async function dispatch(req: IncomingMessage, res: ServerResponse, deps: InteractionDeps, route: InteractionRoute) {
  const details = await deps.provider.interactionDetails(req, res);
  // The interaction is found through its cookie, not the path: a path for another uid is a confused request.
  if (details.uid !== route.uid) throw new FormError(400, 'interaction mismatch');
  if (details.prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant (see config.ts), so no other prompt is expected here.
    await deny(req, res, deps, `prompt ${details.prompt.name} is not supported by the dev IdP`);
    return;
  }
  if (route.action === 'show') {
    if (req.method !== 'GET') throw new FormError(405, 'method not allowed');
    sendHtml(res, 200, loginPage(deps, details, ''));
    return;
  }
  if (req.method !== 'POST') throw new FormError(405, 'method not allowed');
  if (route.action === 'login') await submitLogin(req, res, deps, details);
  else await abort(req, res, deps, details);
}

function errorStatus(error: unknown): number {
  if (error instanceof FormError) return error.statusCode;
  // oidc-provider throws SessionNotFound when the interaction cookie or record is missing or expired.
  if (error instanceof Error && error.name === 'SessionNotFound') return 400;
  return 500;
}

export async function handleInteraction(
  req: IncomingMessage,
  res: ServerResponse,
  deps: InteractionDeps,
  route: InteractionRoute,
): Promise<void> {
  try {
    await dispatch(req, res, deps, route);
  } catch (error) {
    const statusCode = errorStatus(error);
    if (statusCode === 500) console.error('dev idp interaction failed', error);
    if (!res.headersSent) {
      sendHtml(res, statusCode, renderErrorPage('This sign-in request cannot continue. Start again from the app.'));
    }
  }
}

// The tiny issuer page a cardholder's browser sees during 3-D Secure. Every value is escaped, and the headers
// forbid scripts, framing and caching: the page stands in for a bank's and should behave like one.
import { CHALLENGE_CODE } from './authorizations.ts';

export const CHALLENGE_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  // No form-action directive: browsers apply it to the redirect chain, and the answer is a 303 to the merchant's returnUrl.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

export interface ChallengePageView {
  actionPath: string;
  amount: string;
  reference: string;
  card: string;
  status: string;
  attemptsRemaining: number;
  message: string | null;
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
    + '<meta name="viewport" content="width=device-width, initial-scale=1">'
    + '<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto}</style></head>'
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function renderChallengePage(view: ChallengePageView): string {
  const message = view.message === null ? '' : `<p role="alert">${escapeHtml(view.message)}</p>`;
  if (view.status !== 'pending') {
    return layout('Koban Sandbox Secure', `${message}<p>This authentication is ${escapeHtml(view.status)}.</p>`);
  }
  return layout('Koban Sandbox Secure', `${message}`
    + `<p>Confirm a payment of ¥${escapeHtml(view.amount)} (reference ${escapeHtml(view.reference)}) with card ${escapeHtml(view.card)}.</p>`
    + `<form method="post" action="${escapeHtml(view.actionPath)}">`
    + '<label>One-time code <input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="16" required></label>'
    + '<button type="submit">Confirm</button></form>'
    + `<p>${view.attemptsRemaining} attempt(s) left. Sandbox: the code is always ${CHALLENGE_CODE}.</p>`);
}

export function renderMessagePage(message: string): string {
  return layout('Koban Sandbox Secure', `<p>${escapeHtml(message)}</p>`);
}

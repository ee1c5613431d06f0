// Server-rendered pages for the dev IdP's interactions. Every dynamic value goes through escapeHtml:
// the login name is echoed back after a failed attempt, so it is attacker-controlled text.

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? '');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}.error{color:#b00020}</style>
</head>
<body><h1>${escapeHtml(title)}</h1>${body}</body>
</html>`;
}

export type LoginPageInput = {
  uid: string;
  formToken: string;
  clientId: string;
  login: string;
  error?: string;
};

export function renderLoginPage(input: LoginPageInput): string {
  const uid = escapeHtml(input.uid);
  const error = input.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(input.error)}</p>`;
  return page(
    'Koban dev IdP: sign in',
    `<p>Signing in to <strong>${escapeHtml(input.clientId)}</strong>.</p>${error}
<form method="post" action="/interaction/${uid}/login" autocomplete="off">
<input type="hidden" name="form_token" value="${escapeHtml(input.formToken)}">
<label for="login">Login (sub or e-mail)</label><input id="login" name="login" required maxlength="254" value="${escapeHtml(input.login)}">
<label for="password">Password</label><input id="password" name="password" type="password" required maxlength="128">
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort">
<input type="hidden" name="form_token" value="${escapeHtml(input.formToken)}">
<button type="submit">Cancel</button>
</form>`,
  );
}

export function renderErrorPage(message: string): string {
  return page('Koban dev IdP: error', `<p class="error">${escapeHtml(message)}</p>`);
}

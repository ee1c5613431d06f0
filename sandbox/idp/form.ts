import type { IncomingMessage } from 'node:http';

// The login form carries three short fields; anything bigger is not a browser submitting it.
export const FORM_BODY_BYTES_MAX = 4096;

export class FormError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'FormError';
    this.statusCode = statusCode;
  }
}

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    throw new FormError(415, 'expected an HTML form submission');
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    bytes += buffer.length;
    if (bytes > FORM_BODY_BYTES_MAX) throw new FormError(413, 'form too large');
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// A repeated field is ambiguous (which one did the user mean?), so it is rejected instead of picking one.
export function singleField(form: URLSearchParams, name: string): string {
  const values = form.getAll(name);
  if (values.length !== 1 || values[0] === undefined) throw new FormError(400, `field ${name} must appear once`);
  return values[0];
}

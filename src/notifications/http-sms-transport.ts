/**
 * SMS through an HTTP provider: POST {to, body} as JSON with a bearer token, any 2xx is accepted.
 * The shape most providers (Twilio-like, Vonage-like) can be adapted to; no real carrier is wired.
 */
import type { Transport } from './types.ts';

export const SMS_TIMEOUT_MS = 10_000;
export const SMS_BODY_LENGTH_MAX = 670; // 10 concatenated UCS-2 segments

export function createHttpSmsTransport(endpoint: string, apiToken: string | null): Transport {
  return {
    async deliver(message) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (apiToken !== null) headers.authorization = `Bearer ${apiToken}`;
      const response = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ to: message.recipient, body: message.body.slice(0, SMS_BODY_LENGTH_MAX), reference: message.id }),
        redirect: 'error',
        signal: AbortSignal.timeout(SMS_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`SMS provider answered ${response.status}`);
    },
  };
}

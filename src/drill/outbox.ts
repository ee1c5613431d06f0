/**
 * Codes from the development outbox (`/dev/outbox.json?to=`), which only exists outside production: the
 * drill's customers (and, in --assume-sessions mode, the attacker holding their phones) read their SMS and
 * e-mail codes there. A code is taken only from a message that arrived after the action that sent it
 * (`expectCode` snapshots what was there before), so an old sign-up code is never mistaken for a new one.
 */
import type { Browser } from './http.ts';

const POLL_MS = 200;
/** Waiting for a code that may never come (a decoy's): a gentler pace, since many such waits run at once. */
const MAYBE_POLL_MS = 500;
const WAIT_MS = 20_000;
const CODE = /\b([0-9]{6})\b/;

interface OutboxMessage { id: string; recipient: string; kind: string; body: string }

export interface Outbox {
  /** Runs `send`, then waits for a new message to `to` carrying a 6-digit code and answers the code. */
  expectCode(to: string, send: () => Promise<void>): Promise<string>;
  /** The same, but a code that does not come within `waitMs` is an answer too (null), not a broken dispatcher. */
  maybeCode(to: string, send: () => Promise<void>, waitMs: number): Promise<string | null>;
  /** Waits for any message to `to` carrying a code (for a contact nobody wrote to before). */
  firstCode(to: string): Promise<string>;
  /** Whether the server has a development outbox (it never has one in production). */
  available(): Promise<boolean>;
}

export function createOutbox(reader: Browser): Outbox {
  const read = async (to: string): Promise<OutboxMessage[]> => {
    const response = await reader.request('GET', `/dev/outbox.json?to=${encodeURIComponent(to)}`);
    if (response.status !== 200) throw new Error(`the development outbox answered ${response.status}`);
    return (response.body as { messages: OutboxMessage[] }).messages;
  };
  const pollForNew = async (to: string, seen: ReadonlySet<string>, waitMs: number, pollMs = POLL_MS): Promise<string | null> => {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const fresh = (await read(to)).find((m) => !seen.has(m.id) && CODE.test(m.body));
      const code = fresh === undefined ? undefined : CODE.exec(fresh.body)?.[1];
      if (code !== undefined) return code;
      await sleep(pollMs);
    }
    return null;
  };
  const waitForNew = async (to: string, seen: ReadonlySet<string>): Promise<string> => {
    const code = await pollForNew(to, seen, WAIT_MS);
    if (code === null) throw new Error(`no code reached ${to} within ${WAIT_MS / 1000} s (is Koban's notification dispatcher running?)`);
    return code;
  };
  return {
    async expectCode(to, sendIt) {
      const seen = new Set((await read(to)).map((m) => m.id));
      await sendIt();
      return waitForNew(to, seen);
    },
    async maybeCode(to, sendIt, waitMs) {
      const seen = new Set((await read(to)).map((m) => m.id));
      await sendIt();
      return pollForNew(to, seen, waitMs, MAYBE_POLL_MS);
    },
    firstCode: (to) => waitForNew(to, new Set()),
    async available() {
      const response = await reader.request('GET', '/dev/outbox.json?to=nobody%40drill.invalid');
      return response.status === 200;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

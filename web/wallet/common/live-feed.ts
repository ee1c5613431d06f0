/**
 * The customer's notifications as they happen: one EventSource on `/v1/customer/notifications/stream`
 * (session cookie; EventSource reconnects by itself and resumes after the last id it saw), shared by
 * every screen that shows them. Screens subscribe with `useLiveFeed()`; the stream closes a few seconds
 * after the last screen stops listening, so moving between screens does not reconnect.
 */
import { useSyncExternalStore } from 'react';

export interface LiveNotification {
  id: string;
  kind: string;
  title: string;
  body: string;
  createdAt: string;
  /** Whether 「心当たりがない」 applies (decided by the server). */
  contestable: boolean;
}

export type LiveState = { connected: boolean; received: readonly LiveNotification[] };

const STREAM_PATH = '/v1/customer/notifications/stream';
const CLOSE_AFTER_IDLE_MS = 5_000;
/** Only the newest few are kept for toasts; the full feed is on the notifications screen. */
const KEEP = 20;

let source: EventSource | null = null;
let state: LiveState = { connected: false, received: [] };
const listeners = new Set<() => void>();
let idleTimer: number | undefined;

function emit(next: LiveState): void {
  state = next;
  for (const listener of listeners) listener();
}

function open(): void {
  if (source !== null) return;
  const stream = new EventSource(STREAM_PATH);
  source = stream;
  stream.addEventListener('ready', () => emit({ ...state, connected: true }));
  stream.addEventListener('notification', (event) => {
    const entry = JSON.parse((event as MessageEvent<string>).data) as LiveNotification;
    if (state.received.some((seen) => seen.id === entry.id)) return;
    emit({ ...state, received: [entry, ...state.received].slice(0, KEEP) });
  });
  // Replaced by a newer tab, or the session ended: stop; the page's next action shows why.
  for (const name of ['replaced', 'end']) stream.addEventListener(name, () => close());
  stream.addEventListener('error', () => emit({ ...state, connected: false }));
}

function close(): void {
  source?.close();
  source = null;
  emit({ ...state, connected: false });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.clearTimeout(idleTimer);
  open();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) idleTimer = window.setTimeout(close, CLOSE_AFTER_IDLE_MS);
  };
}

export function useLiveFeed(): LiveState {
  return useSyncExternalStore(subscribe, () => state);
}

/** Forget a notification the customer dismissed or reported. */
export function dismissLive(id: string): void {
  emit({ ...state, received: state.received.filter((entry) => entry.id !== id) });
}

/**
 * Who is signed in to the console. The operator cookie is HttpOnly; the CSRF token answered at sign-in
 * is kept in this tab's sessionStorage so a reload keeps working (it is useless without the cookie).
 * Any 401 from the API (the server's 15-minute idle timeout, a session ended elsewhere) returns to
 * the sign-in form with a message, and so does the console's own idle timer: the dashboard polls, and
 * polling alone must not keep an unattended console signed in.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { startAuthentication, startRegistration, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api, ApiError, setCsrfToken } from '../shared/api.ts';

export interface Me {
  operatorId: string;
  email: string;
  displayName: string;
  role: string;
  permissions: string[];
}

export type SignedOutReason = 'timed_out' | 'signed_out' | null;

interface Session {
  /** undefined while the first answer is awaited; null when signed out. */
  me: Me | null | undefined;
  signedOutReason: SignedOutReason;
  /** Password + TOTP: for an operator without a passkey, a session that can only enrol one ('enrolment'). */
  signIn(input: { email: string; password: string; totpCode: string }): Promise<'enrolment' | 'signed_in'>;
  /** Registers this device's passkey in the enrolment session, then signs in with it. */
  enrolPasskey(): Promise<void>;
  /** The sign-in for work: the browser's WebAuthn API with a passkey bound to Koban's origin. */
  signInWithPasskey(): Promise<void>;
  signOut(): Promise<void>;
  can(permission: string): boolean;
}

const CSRF_STORAGE_KEY = 'koban.console.csrf';
/** The server's default idle timeout (KOBAN_OPERATOR_IDLE_TIMEOUT_MS); the server enforces its own. */
export const IDLE_TIMEOUT_MS = 15 * 60_000;
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

const SessionContext = createContext<Session | null>(null);
let onUnauthenticated: (() => void) | null = null;

/** The operator API: like `api`, but a 401 ends the console session (back to sign-in with a message). */
export async function ops<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  try {
    return await api<T>(method, path, body);
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 401) onUnauthenticated?.();
    throw error;
  }
}

export function SessionProvider(props: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [signedOutReason, setSignedOutReason] = useState<SignedOutReason>(null);
  const lastActivity = useRef(Date.now());

  const forget = useCallback((reason: SignedOutReason) => {
    sessionStorage.removeItem(CSRF_STORAGE_KEY);
    setCsrfToken(null);
    setSignedOutReason(reason);
    setMe(null);
  }, []);

  useEffect(() => {
    const csrf = sessionStorage.getItem(CSRF_STORAGE_KEY);
    if (csrf === null) { setMe(null); return; }
    setCsrfToken(csrf);
    api<Me>('GET', '/v1/ops/me').then(setMe, () => forget(null));
  }, [forget]);

  useEffect(() => {
    onUnauthenticated = () => { if (me) forget('timed_out'); };
    return () => { onUnauthenticated = null; };
  }, [me, forget]);

  const signOut = useCallback(async () => {
    try { await api('DELETE', '/v1/ops/session'); } catch { /* the session may already be gone */ }
    forget('signed_out');
  }, [forget]);

  // The console's own idle timer: no pointer or key for IDLE_TIMEOUT_MS ends the session here too.
  useEffect(() => {
    if (!me) return;
    const touch = () => { lastActivity.current = Date.now(); };
    for (const event of ACTIVITY_EVENTS) addEventListener(event, touch, { passive: true });
    touch();
    const timer = setInterval(() => {
      if (Date.now() - lastActivity.current < IDLE_TIMEOUT_MS) return;
      void api('DELETE', '/v1/ops/session').catch(() => undefined).finally(() => forget('timed_out'));
    }, 15_000);
    return () => {
      for (const event of ACTIVITY_EVENTS) removeEventListener(event, touch);
      clearInterval(timer);
    };
  }, [me, forget]);

  const value = useMemo<Session>(() => {
    const start = async (answer: { csrfToken: string; sessionKind: string }): Promise<'enrolment' | 'signed_in'> => {
      setCsrfToken(answer.csrfToken);
      if (answer.sessionKind === 'enrolment') return 'enrolment';
      sessionStorage.setItem(CSRF_STORAGE_KEY, answer.csrfToken);
      setMe(await api<Me>('GET', '/v1/ops/me'));
      setSignedOutReason(null);
      return 'signed_in';
    };
    const signInWithPasskey = async () => {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/v1/ops/session/passkey-options');
      const response = await startAuthentication({ optionsJSON: options.options });
      await start(await api<{ csrfToken: string; sessionKind: string }>('POST', '/v1/ops/session/passkey', { challengeId: options.challengeId, response }));
    };
    return {
    me,
    signedOutReason,
    async signIn(input) {
      return start(await api<{ csrfToken: string; sessionKind: string }>('POST', '/v1/ops/session', input));
    },
    async enrolPasskey() {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/v1/ops/passkeys/registration-options');
      const response = await startRegistration({ optionsJSON: options.options });
      await api('POST', '/v1/ops/passkeys', { challengeId: options.challengeId, response, name: navigator.userAgent.includes('Mac') ? 'Mac' : 'This device' });
      setCsrfToken(null);
      await signInWithPasskey();
    },
    signInWithPasskey,
    signOut,
    can: (permission) => me?.permissions.includes(permission) ?? false,
    };
  }, [me, signedOutReason, signOut]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

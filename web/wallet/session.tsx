/**
 * Who is signed in to the wallet. `GET /v1/customer/me` answers the session's customer and its CSRF
 * token (or 401 when there is none); every screen reads it from here, and sign-in/sign-out call
 * `refresh` so the whole app follows.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, ApiError, onUnauthorized, setCsrfToken } from '../shared/api.ts';

const ME_PATH = '/v1/customer/me';

export interface Me {
  customerId: string;
  csrfToken: string;
  contacts: Array<{ kind: string; value: string }>;
  recoveryCooldown: boolean;
}

interface Session {
  /** undefined while the first answer is awaited; null when signed out. */
  me: Me | null | undefined;
  /** True when a signed-in session ended under the customer (expired, or revoked elsewhere). */
  ended: boolean;
  refresh(): Promise<Me | null>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider(props: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [ended, setEnded] = useState(false);
  const signedIn = useRef(false);
  signedIn.current = me !== null && me !== undefined;
  const refresh = useCallback(async () => {
    try {
      const next = await api<Me>('GET', ME_PATH);
      setCsrfToken(next.csrfToken);
      setMe(next);
      setEnded(false);
      return next;
    } catch (error) {
      if (!(error instanceof ApiError) || error.problem.status !== 401) throw error;
      setCsrfToken(null);
      setMe(null);
      return null;
    }
  }, []);
  useEffect(() => { void refresh(); }, [refresh]);
  // Any 401 while signed in may mean the session is gone: ask once; if it is, every screen follows to
  // the welcome page, which says why. (A wrong PIN or password answers 401 too: then /me still works.)
  useEffect(() => onUnauthorized((path) => {
    if (path === ME_PATH || !signedIn.current) return;
    void refresh().then((next) => { if (next === null) setEnded(true); }, () => undefined);
  }), [refresh]);
  const value = useMemo(() => ({ me, ended, refresh }), [me, ended, refresh]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

/**
 * Who is signed in to the wallet. `GET /v1/customer/me` answers the session's customer and its CSRF
 * token (or 401 when there is none); every screen reads it from here, and sign-in/sign-out call
 * `refresh` so the whole app follows.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, setCsrfToken } from '../shared/api.ts';

export interface Me {
  customerId: string;
  csrfToken: string;
  contacts: Array<{ kind: string; value: string }>;
  recoveryCooldown: boolean;
}

interface Session {
  /** undefined while the first answer is awaited; null when signed out. */
  me: Me | null | undefined;
  refresh(): Promise<Me | null>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider(props: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const refresh = useCallback(async () => {
    try {
      const next = await api<Me>('GET', '/v1/customer/me');
      setCsrfToken(next.csrfToken);
      setMe(next);
      return next;
    } catch (error) {
      if (!(error instanceof ApiError) || error.problem.status !== 401) throw error;
      setCsrfToken(null);
      setMe(null);
      return null;
    }
  }, []);
  useEffect(() => { void refresh(); }, [refresh]);
  const value = useMemo(() => ({ me, refresh }), [me, refresh]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

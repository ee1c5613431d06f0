/**
 * Who is signed in to the wallet. `GET /v1/customer/me` answers the session's customer and its CSRF
 * token (or 401 when there is none); every screen reads it from here, and sign-in/sign-out call
 * `refresh` so the whole app follows.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, ApiError, NoAnswerError, onUnauthorized, setCsrfToken } from '../shared/api.ts';
import { useI18n, type Language } from '../shared/i18n.tsx';

const ME_PATH = '/v1/customer/me';

export interface Me {
  customerId: string;
  csrfToken: string;
  contacts: Array<{ kind: string; value: string }>;
  recoveryCooldown: boolean;
  /** The language Koban writes this customer's feed, SMS and e-mail in; null until chosen. */
  language: Language | null;
}

interface Session {
  /** undefined while the first answer is awaited; null when signed out. */
  me: Me | null | undefined;
  /** True when a signed-in session ended under the customer (expired, or revoked elsewhere). */
  ended: boolean;
  /** True when the last attempt to ask who is signed in got no answer (offline, or Koban down). */
  unreachable: boolean;
  refresh(): Promise<Me | null>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider(props: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [ended, setEnded] = useState(false);
  const [unreachable, setUnreachable] = useState(false);
  const signedIn = useRef(false);
  signedIn.current = me !== null && me !== undefined;
  const refresh = useCallback(async () => {
    try {
      const next = await api<Me>('GET', ME_PATH);
      setCsrfToken(next.csrfToken);
      setMe(next);
      setEnded(false);
      setUnreachable(false);
      return next;
    } catch (error) {
      setUnreachable(error instanceof NoAnswerError);
      if (!(error instanceof ApiError) || error.problem.status !== 401) throw error;
      setCsrfToken(null);
      setMe(null);
      return null;
    }
  }, []);
  // A first ask that gets no answer shows "no connection" with a retry (see WalletScreens), not a rejection.
  useEffect(() => { refresh().catch(() => undefined); }, [refresh]);
  // Any 401 while signed in may mean the session is gone: ask once; if it is, every screen follows to
  // the welcome page, which says why. (A wrong PIN or password answers 401 too: then /me still works.)
  useEffect(() => onUnauthorized((path) => {
    if (path === ME_PATH || !signedIn.current) return;
    void refresh().then((next) => { if (next === null) setEnded(true); }, () => undefined);
  }), [refresh]);
  useLanguageSync(me);
  const value = useMemo(() => ({ me, ended, unreachable, refresh }), [me, ended, unreachable, refresh]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

/**
 * The wallet's language is the customer's: signed in on a new phone, the wallet adopts the stored
 * choice; switching language (or a first sign-in, when nothing is stored) stores it, so the feed, live
 * banners, SMS and e-mail come in the language the customer reads the app in.
 */
function useLanguageSync(me: Me | null | undefined): void {
  const { language, setLanguage } = useI18n();
  const synced = useRef<{ customerId: string; stored: Language | null } | null>(null);
  const customerId = me?.customerId ?? null;
  useEffect(() => {
    if (me === null || me === undefined) { synced.current = null; return; }
    if (synced.current?.customerId !== me.customerId) {
      synced.current = { customerId: me.customerId, stored: me.language };
      if (me.language !== null && me.language !== language) { setLanguage(me.language); return; }
    }
    if (synced.current.stored === language) return;
    synced.current.stored = language;
    api('PUT', '/v1/customer/language', { language }).catch(() => { if (synced.current !== null) synced.current.stored = null; });
  }, [customerId, language]);
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

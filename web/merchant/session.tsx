/**
 * Who is signed in to the merchant portal. The staff cookie is HttpOnly; the CSRF token answered at
 * sign-in is kept in this tab's sessionStorage so a reload keeps working (useless without the cookie).
 * Any 401 returns to the sign-in form. The server checks the role on every request; the portal only
 * hides what the role cannot use.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, onUnauthorized, setCsrfToken } from '../shared/api.ts';

export type Role = 'owner' | 'manager' | 'clerk' | 'developer';

export interface Me {
  user: { id: string; email: string; role: Role };
  merchant: { id: string; name: string; status: string; payoutsHeld: boolean; statusReason: string | null };
}

const ROLE_SCREENS: Record<string, readonly Role[]> = {
  stores: ['owner', 'manager', 'clerk', 'developer'],
  storesManage: ['owner', 'manager'],
  terminals: ['owner', 'manager', 'clerk'],
  terminalsManage: ['owner', 'manager'],
  sales: ['owner', 'manager', 'clerk', 'developer'],
  refund: ['owner', 'manager'],
  money: ['owner', 'manager'],
  developers: ['owner', 'developer'],
  staff: ['owner'],
};

interface Session {
  me: Me | null | undefined;
  signIn(input: { email: string; password: string; totpCode: string }): Promise<void>;
  signOut(): Promise<void>;
  can(screen: keyof typeof ROLE_SCREENS): boolean;
}

const CSRF_STORAGE_KEY = 'koban.merchant.csrf';
const SessionContext = createContext<Session | null>(null);

export function SessionProvider(props: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const forget = useCallback(() => {
    sessionStorage.removeItem(CSRF_STORAGE_KEY);
    setCsrfToken(null);
    setMe(null);
  }, []);
  useEffect(() => {
    const csrf = sessionStorage.getItem(CSRF_STORAGE_KEY);
    if (csrf === null) { setMe(null); return; }
    setCsrfToken(csrf);
    api<Me>('GET', '/v1/merchant/session').then(setMe, forget);
  }, [forget]);
  useEffect(() => onUnauthorized((path) => { if (path.startsWith('/v1/merchant/') && path !== '/v1/merchant/session') forget(); }), [forget]);
  const value = useMemo<Session>(() => ({
    me,
    async signIn(input) {
      const answer = await api<{ csrfToken: string }>('POST', '/v1/merchant/session', input);
      sessionStorage.setItem(CSRF_STORAGE_KEY, answer.csrfToken);
      setCsrfToken(answer.csrfToken);
      setMe(await api<Me>('GET', '/v1/merchant/session'));
    },
    async signOut() {
      try { await api('DELETE', '/v1/merchant/session'); } catch { /* already gone */ }
      forget();
    },
    can: (screen) => (me ? (ROLE_SCREENS[screen] ?? []).includes(me.user.role) : false),
  }), [me, forget]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

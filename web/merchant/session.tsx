/**
 * Who is signed in to the merchant portal. The staff cookie is HttpOnly; the CSRF token answered at
 * sign-in is kept in this tab's sessionStorage so a reload keeps working (useless without the cookie).
 * Any 401 returns to the sign-in form. The server checks the role on every request; the portal only
 * hides what the role cannot use.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api, onUnauthorized, setCsrfToken } from '../shared/api.ts';

export type Role = 'owner' | 'manager' | 'clerk' | 'developer';

export interface Me {
  user: { id: string; email: string; role: Role };
  /** `applicant`: an application an operator asked more about; only the application screen is open. */
  sessionKind: 'full' | 'applicant';
  merchant: MerchantProfile;
}

export interface MerchantProfile {
  id: string; name: string; nameLatin: string | null; status: string; payoutsHeld: boolean; statusReason: string | null; reviewState: string | null; reviewNote: string | null;
  corporateNumber: string | null; representative: string | null; address: string | null; contactEmail: string | null; contactPhone: string | null;
  categoryCode: string; expectedMonthlyVolume: number | null;
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
  account: ['owner', 'manager', 'clerk', 'developer'],
};

interface Session {
  me: Me | null | undefined;
  signIn(input: { email: string; password: string; totpCode: string }): Promise<void>;
  /** The browser's WebAuthn API with a passkey enrolled in the portal (user verification required). */
  signInWithPasskey(): Promise<void>;
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
  const start = useCallback(async (answer: { csrfToken: string }) => {
    sessionStorage.setItem(CSRF_STORAGE_KEY, answer.csrfToken);
    setCsrfToken(answer.csrfToken);
    setMe(await api<Me>('GET', '/v1/merchant/session'));
  }, []);
  const value = useMemo<Session>(() => ({
    me,
    async signIn(input) {
      await start(await api<{ csrfToken: string }>('POST', '/v1/merchant/session', input));
    },
    async signInWithPasskey() {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/v1/merchant/session/passkey-options');
      const response = await startAuthentication({ optionsJSON: options.options });
      await start(await api<{ csrfToken: string }>('POST', '/v1/merchant/session/passkey', { challengeId: options.challengeId, response }));
    },
    async signOut() {
      try { await api('DELETE', '/v1/merchant/session'); } catch { /* already gone */ }
      forget();
    },
    can: (screen) => (me && me.sessionKind === 'full' ? (ROLE_SCREENS[screen] ?? []).includes(me.user.role) : false),
  }), [me, forget, start]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside SessionProvider');
  return session;
}

/**
 * Account and security screens (sign-up, sign-in, recovery, settings). `signedOutRoutes` are shown
 * without a session, `accountRoutes` with one. A signed-in customer who opens a signed-out page (a
 * bookmark, the back button after sign-in) is sent home, and the reverse lands on the welcome card.
 */
import type { Routes } from '../../shared/router.tsx';
import { pathAfterSignIn } from '../money/checkout.tsx';
import { Redirect } from './page.tsx';
import { RecoverPage } from './recover.tsx';
import { SettingsPage } from './settings.tsx';
import { ContactsPage, PasswordPage } from './settings-contacts.tsx';
import { PasskeysPage, RecoveryCodesPage, TotpPage } from './settings-factors.tsx';
import { PinPage } from './settings-pin.tsx';
import { SessionsPage } from './settings-sessions.tsx';
import { SocialPage } from './settings-social.tsx';
import { SignInPage } from './sign-in.tsx';
import { SignUpPage } from './sign-up.tsx';
import { WelcomePasskeyPage } from './welcome-passkey.tsx';

export const signedOutRoutes: Routes = {
  '/sign-in': () => <SignInPage />,
  '/sign-up': () => <SignUpPage />,
  '/recover': () => <RecoverPage />,
};

export const accountRoutes: Routes = {
  '/settings': () => <SettingsPage />,
  '/settings/passkeys': () => <PasskeysPage />,
  '/settings/totp': () => <TotpPage />,
  '/settings/recovery-codes': () => <RecoveryCodesPage />,
  '/settings/sessions': () => <SessionsPage />,
  '/settings/pin': () => <PinPage />,
  '/settings/contacts': () => <ContactsPage />,
  '/settings/password': () => <PasswordPage />,
  '/settings/social': () => <SocialPage />,
  '/welcome/passkey': () => <WelcomePasskeyPage />,
  // Back where the visitor was sent to sign in from (an order QR's checkout page), else home.
  '/sign-in': () => <Redirect to={pathAfterSignIn()} />,
  '/sign-up': () => <Redirect to={pathAfterSignIn()} />,
  '/recover': () => <Redirect to="/settings/password" />,
};

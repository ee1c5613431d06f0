/**
 * Account and security screens (sign-up, sign-in, recovery, settings). `signedOutRoutes` are shown
 * without a session, `accountRoutes` with one; `SignedOutHome` is what a visitor sees first.
 */
import type { Routes } from '../../shared/router.tsx';

export const signedOutRoutes: Routes = {};
export const accountRoutes: Routes = {};

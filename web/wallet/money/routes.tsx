/**
 * Money screens (home with balance and Pay, scan, top-up, history, notifications, freeze).
 * `moneyRoutes` need a session; '/' is the signed-in home.
 */
import type { Routes } from '../../shared/router.tsx';

export const moneyRoutes: Routes = {};

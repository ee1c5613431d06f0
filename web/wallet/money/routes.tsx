/**
 * Money screens (home with balance and Pay, scan, top-up, history, notifications, freeze).
 * `moneyRoutes` need a session; '/' is the signed-in home.
 */
import type { Routes } from '../../shared/router.tsx';
import { CheckoutPage } from './checkout.tsx';
import { HistoryDetailPage, HistoryPage } from './history.tsx';
import { HomePage, NotificationsPage } from './home.tsx';
import { PayPage } from './pay.tsx';
import { RefundPage } from './refund.tsx';
import { ScanPage } from './scan.tsx';
import { TopUpPage, TopUpStatusPage } from './top-up.tsx';
import { PayRequestPage, SendPage, SplitPage, TransfersPage, WithdrawPage } from './transfers.tsx';
import { CashTopUpPage } from './cash-top-up.tsx';
import { AutoTopUpPage } from './auto-top-up.tsx';
import './money.css';

export const moneyRoutes: Routes = {
  '/': () => <HomePage />,
  '/pay': () => <PayPage />,
  '/scan': () => <ScanPage />,
  '/top-up': () => <TopUpPage />,
  '/top-up/cash': () => <CashTopUpPage />,
  '/top-up/auto': () => <AutoTopUpPage />,
  '/top-up/:topUpId': (params) => <TopUpStatusPage topUpId={params['topUpId'] ?? ''} />,
  '/history': () => <HistoryPage />,
  '/history/:transferId': (params) => <HistoryDetailPage key={params['transferId']} transferId={params['transferId'] ?? ''} />,
  '/notifications': () => <NotificationsPage />,
  '/send': () => <SendPage />,
  '/transfers': () => <TransfersPage />,
  '/split': () => <SplitPage />,
  '/pay/:token': (params) => <PayRequestPage key={params['token']} token={params['token'] ?? ''} />,
  '/withdraw': () => <WithdrawPage />,
  '/refund': () => <RefundPage />,
  '/checkout/:codeId': (params) => <CheckoutPage key={params['codeId']} codeId={params['codeId'] ?? ''} signedIn />,
};

/** An order QR's checkout page without a session: the order's summary and the way to sign in and come back. */
export const signedOutMoneyRoutes: Routes = {
  '/checkout/:codeId': (params) => <CheckoutPage key={params['codeId']} codeId={params['codeId'] ?? ''} signedIn={false} />,
};

/**
 * The order QR's checkout page (/wallet/checkout/{codeId}, where GET /qr/{codeId} lands when a phone's
 * camera or a merchant's web checkout opens the code's url). Anyone sees the order's public summary
 * (merchant, store, amount, expiry); a signed-in customer pays it with the Scan flow's own confirm screen
 * (scan.tsx Confirm: the same pay call, PIN when asked); a visitor is sent to sign in and brought back.
 * After paying, the page returns to the merchant's redirectUrl: a visible link, and on its own shortly after.
 * A paid, expired or canceled order says so plainly.
 */
import { useEffect, useState } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n, type Language } from '../../shared/i18n.tsx';
import { useRouter } from '../../shared/router.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { problemCode } from '../account/problems.ts';
import { MoneyPage } from './frame.tsx';
import { Confirm, type Paid } from './scan.tsx';

interface OrderSummary {
  merchantName: string;
  storeName: string | null;
  amount: string;
  expiresAt: string;
  state: 'PAYABLE' | 'PAID' | 'EXPIRED' | 'UNAVAILABLE';
  redirectUrl: string | null;
  redirectType: 'WEB_LINK' | 'APP_DEEP_LINK' | 'WEBVIEW_IN_PAYPAY' | null;
}

/** How long the success screen stays before the page goes back to the store on its own. */
const RETURN_AFTER_MS = 1500;
const RETURN_TO_KEY = 'koban.wallet.returnTo';
const CHECKOUT_PATH = /^\/checkout\/[A-Za-z0-9_-]{8,64}$/;
/** The server checked the address when the merchant made the order; this refuses anything that would run script all the same. */
const UNSAFE_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

/** Where sign-in (or sign-up) returns to: a checkout page the visitor came from, else home. */
export function pathAfterSignIn(): string {
  const saved = sessionStorage.getItem(RETURN_TO_KEY);
  return saved !== null && CHECKOUT_PATH.test(saved) ? saved : '/';
}

function safeReturnUrl(url: string | null): string | null {
  if (url === null) return null;
  try {
    return UNSAFE_SCHEMES.has(new URL(url).protocol) ? null : url;
  } catch {
    return null;
  }
}

function expiryTime(iso: string, language: Language): string {
  return new Date(iso).toLocaleString(language === 'ja' ? 'ja-JP' : 'en-GB', { timeZone: 'Asia/Tokyo', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function useOrderSummary(codeId: string): { summary: OrderSummary | null; missing: boolean; failed: boolean } {
  const [summary, setSummary] = useState<OrderSummary | null>(null);
  const [missing, setMissing] = useState(false);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    api<OrderSummary>('GET', `/v1/checkout/qr/${encodeURIComponent(codeId)}`).then((answer) => { if (live) setSummary(answer); }, (failure: unknown) => {
      if (!live) return;
      if (problemCode(failure) === 'dynamic_qr_not_found' || problemCode(failure) === 'not_found' || problemCode(failure) === 'validation_failed') setMissing(true); else setFailed(true);
    });
    return () => { live = false; };
  }, [codeId]);
  return { summary, missing, failed };
}

export function CheckoutPage(props: { codeId: string; signedIn: boolean }) {
  const { t } = useI18n();
  const { summary, missing, failed } = useOrderSummary(props.codeId);
  useEffect(() => { if (props.signedIn) sessionStorage.removeItem(RETURN_TO_KEY); }, [props.signedIn]);
  const body = missing ? <Notice kind="error">{t('money.checkout.notFound')}</Notice>
    : failed ? <Notice kind="error">{t('money.checkout.failed')}</Notice>
    : summary === null ? <p role="status">{t('money.checkout.loading')}</p>
    : <Checkout codeId={props.codeId} summary={summary} signedIn={props.signedIn} />;
  // Signed out there is no money frame (its live feed and navigation need a session).
  return props.signedIn ? <MoneyPage title={t('money.checkout.title')}>{body}</MoneyPage> : <div className="money-stack"><h2 className="money-heading">{t('money.checkout.title')}</h2>{body}</div>;
}

function Checkout(props: { codeId: string; summary: OrderSummary; signedIn: boolean }) {
  const { t } = useI18n();
  const { summary } = props;
  const returnUrl = safeReturnUrl(summary.redirectUrl);
  const [paid, setPaid] = useState<Paid | null>(null);
  useEffect(() => {
    if (paid?.status !== 'COMPLETED' || returnUrl === null) return;
    const timer = window.setTimeout(() => location.assign(returnUrl), RETURN_AFTER_MS);
    return () => window.clearTimeout(timer);
  }, [paid, returnUrl]);

  if (summary.state !== 'PAYABLE') {
    return (
      <Card>
        <OrderDetails summary={summary} />
        <Notice kind={summary.state === 'PAID' ? 'info' : 'error'}>{t(`money.checkout.state.${summary.state}`)}</Notice>
        <ReturnLink url={returnUrl} />
      </Card>
    );
  }
  if (!props.signedIn) return <SignInToPay codeId={props.codeId} summary={summary} />;
  const footer = (
    <>
      {returnUrl === null ? null : <p role="status">{t('money.checkout.returning')}</p>}
      <ReturnLink url={returnUrl} primary />
    </>
  );
  return (
    <>
      <Confirm scanned={{ kind: 'dynamic', codeId: props.codeId, merchantName: summary.merchantName, storeName: summary.storeName, amount: summary.amount, orderDescription: null }}
        onPaid={setPaid} paidFooter={returnUrl === null ? undefined : footer} />
      {paid === null ? <Expiry summary={summary} /> : null}
    </>
  );
}

function OrderDetails(props: { summary: OrderSummary }) {
  const { t, language } = useI18n();
  const { summary } = props;
  return (
    <dl className="detail-list" data-testid="checkout-summary">
      <dt>{t('money.scan.merchant')}</dt><dd>{summary.merchantName}</dd>
      <dt>{t('money.scan.store')}</dt><dd>{summary.storeName ?? '—'}</dd>
      <dt>{t('money.scan.amount')}</dt><dd className="confirm-amount">{formatYen(summary.amount, language)}</dd>
      <dt>{t('money.checkout.expiresAt')}</dt><dd>{expiryTime(summary.expiresAt, language)}</dd>
    </dl>
  );
}

function Expiry(props: { summary: OrderSummary }) {
  const { t, language } = useI18n();
  return <p className="pay-hint" data-testid="checkout-expiry">{t('money.checkout.validUntil', { time: expiryTime(props.summary.expiresAt, language) })}</p>;
}

function SignInToPay(props: { codeId: string; summary: OrderSummary }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  function go(path: '/sign-in' | '/sign-up') {
    sessionStorage.setItem(RETURN_TO_KEY, `/checkout/${props.codeId}`);
    navigate(path);
  }
  return (
    <Card>
      <OrderDetails summary={props.summary} />
      <p>{t('money.checkout.signInBody')}</p>
      <div className="row">
        <Button onClick={() => go('/sign-in')}>{t('money.checkout.signIn')}</Button>
        <Button variant="secondary" onClick={() => go('/sign-up')}>{t('money.checkout.signUp')}</Button>
      </div>
    </Card>
  );
}

function ReturnLink(props: { url: string | null; primary?: boolean }) {
  const { t } = useI18n();
  if (props.url === null) return null;
  return <a href={props.url} className={`button ${props.primary ? 'primary' : 'secondary'}`} rel="noopener noreferrer">{t('money.checkout.return')}</a>;
}

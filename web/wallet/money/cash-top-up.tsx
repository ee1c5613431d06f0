/**
 * 「現金でチャージ」 (issue 19): a one-time top-up code (22 digits starting 81, 3 minutes, one use) shown as a
 * CODE128 barcode and digits for the till's 「現金チャージ」, with what cash it can take. It is a different kind
 * from the payment code: a till's お会計 screen refuses it, so it cannot pay anything. A new code replaces the old.
 */
import JsBarcode from 'jsbarcode';
import { useEffect, useRef, useState } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { MoneyPage } from './frame.tsx';

interface CashCode { code: string; expiresAt: string; minAmount: string; maxAmount: string; perCodeMax: string; cashDailyRemaining: string }

export function CashTopUpPage() {
  const { t, language } = useI18n();
  const [minted, setMinted] = useState<CashCode | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const barcode = useRef<SVGSVGElement>(null);
  // One mint per generation, however often React runs the effect (StrictMode runs it twice in development):
  // a second mint would revoke the code already on the screen.
  const mint = useRef<{ generation: number; answer: Promise<CashCode> } | null>(null);
  useEffect(() => {
    let live = true;
    setError(null);
    if (mint.current?.generation !== generation) mint.current = { generation, answer: api<CashCode>('POST', '/v1/wallet/cash-top-up-code', {}) };
    mint.current.answer.then((answer) => { if (live) setMinted(answer); }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [generation]);
  useEffect(() => {
    if (minted !== null && barcode.current !== null) JsBarcode(barcode.current, minted.code, { format: 'CODE128', displayValue: false, height: 80, margin: 8 });
  }, [minted?.code]);
  return (
    <MoneyPage title={t('money.cash.title')} back="/top-up">
      <Card>
        <p>{t('money.cash.intro')}</p>
        {minted === null ? (error === null ? <p role="status">{t('common.loading')}</p> : null) : (
          <div className="cash-code" data-testid="cash-top-up-code">
            <svg ref={barcode} role="img" aria-label={t('money.cash.barcode')} />
            <p className="code-digits" aria-label={t('money.cash.digits')}>{minted.code}</p>
            <p>{t('money.cash.expires', { time: new Date(minted.expiresAt).toLocaleTimeString(language === 'ja' ? 'ja-JP' : 'en-GB', { hour: '2-digit', minute: '2-digit' }) })}</p>
            <p>{t('money.cash.limits', { min: formatYen(minted.minAmount, language), max: formatYen(minted.maxAmount, language) })}</p>
          </div>
        )}
        {error === null ? null : <Notice kind="error">{error}</Notice>}
        <Notice kind="info">{t('money.cash.prepaid')}</Notice>
        <Button variant="secondary" onClick={() => setGeneration((n) => n + 1)}>{t('money.cash.refresh')}</Button>
      </Card>
    </MoneyPage>
  );
}

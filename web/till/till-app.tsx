/**
 * The till (store tablet). Amount entry on a big keypad; the amount is kept as a string of digits,
 * never a number, and capped in length so no keypad mash can produce a float or an overflow.
 * Reading the customer's code and charging come with the till API.
 */
import { useState } from 'react';
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { AppShell, Button, Card } from '../shared/ui.tsx';

const AMOUNT_DIGITS_MAX = 9;

export function appendDigit(amount: string, digit: string): string {
  if (!/^[0-9]$/.test(digit)) return amount;
  if (amount === '0' || amount === '') return digit === '0' ? '' : digit;
  return amount.length >= AMOUNT_DIGITS_MAX ? amount : amount + digit;
}

export function TillApp() {
  const { t, language } = useI18n();
  const [amount, setAmount] = useState('');
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '00', '0'];
  return (
    <AppShell title={t('app.title')}>
      <Card title={t('amount.label')}>
        <output className="amount-display" aria-live="polite" aria-label={t('amount.label')}>{formatYen(amount === '' ? '0' : amount, language)}</output>
        <div className="keypad" role="group" aria-label={t('amount.label')}>
          {keys.map((key) => (
            <Button key={key} variant="secondary" onClick={() => setAmount((a) => [...key].reduce(appendDigit, a))}>{key}</Button>
          ))}
          <Button variant="secondary" aria-label={t('amount.back')} onClick={() => setAmount((a) => a.slice(0, -1))}>⌫</Button>
        </div>
        <div className="row" style={{ marginTop: 12 }}>
          <Button variant="secondary" onClick={() => setAmount('')}>{t('amount.clear')}</Button>
          <Button disabled={amount === ''}>{t('amount.charge')}</Button>
        </div>
      </Card>
    </AppShell>
  );
}

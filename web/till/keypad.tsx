/**
 * Amount entry on a big keypad; the amount is kept as a string of digits, never a number, and capped in
 * length so no keypad mash can produce a float or an overflow.
 */
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { Button, Card } from '../shared/ui.tsx';

const AMOUNT_DIGITS_MAX = 7; // up to ¥9,999,999; the server refuses above its own limit (¥1M by default)

export function appendDigit(amount: string, digit: string): string {
  if (!/^[0-9]$/.test(digit)) return amount;
  if (amount === '0' || amount === '') return digit === '0' ? '' : digit;
  return amount.length >= AMOUNT_DIGITS_MAX ? amount : amount + digit;
}

export function Keypad(props: { amount: string; onChange(amount: string): void; onCharge(): void; onQr(): void }) {
  const { t, language } = useI18n();
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '00', '0'];
  const { amount, onChange } = props;
  return (
    <Card title={t('amount.label')}>
      <output className="amount-display" aria-live="polite" aria-label={t('amount.label')}>{formatYen(amount === '' ? '0' : amount, language)}</output>
      <div className="keypad" role="group" aria-label={t('amount.label')}>
        {keys.map((key) => (
          <Button key={key} variant="secondary" onClick={() => onChange([...key].reduce(appendDigit, amount))}>{key}</Button>
        ))}
        <Button variant="secondary" aria-label={t('amount.back')} onClick={() => onChange(amount.slice(0, -1))}>⌫</Button>
      </div>
      <div className="row till-actions">
        <Button variant="secondary" onClick={() => onChange('')}>{t('amount.clear')}</Button>
        <Button disabled={amount === ''} onClick={props.onCharge}>{t('amount.charge')}</Button>
      </div>
      <div className="row till-actions">
        <Button variant="secondary" disabled={amount === ''} onClick={props.onQr}>{t('pay.qr')}</Button>
      </div>
    </Card>
  );
}

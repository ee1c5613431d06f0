/**
 * 残高の払い戻し (issue 19): while Koban's prepaid instrument is being abolished (資金決済法 Art. 20), the customer
 * claims their whole prepaid balance to their own bank account before the deadline. The claim needs a fresh
 * step-up bound to the account's last four digits; the payout follows in the next batch and its state shows here.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Button, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { MoneyPage } from './frame.tsx';

interface Claim { claimId: string; amount: string; status: string; accountNumberLast4: string }
interface RefundState { active: boolean; claimDeadline: string | null; claims: Claim[] }

export function RefundPage() {
  const { t, language } = useI18n();
  const stepUp = useStepUp();
  const [state, setState] = useState<RefundState | null>(null);
  const [version, setVersion] = useState(0);
  const [bank, setBank] = useState({ bankCode: '', branchCode: '', accountNumber: '', holderNameKana: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api<RefundState>('GET', '/v1/wallet/abolition').then(setState, (failure: unknown) => setError(problemText(t, failure)));
  }, [version, t]);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const grant = await stepUp({ action: 'add_funding_source', params: { kind: 'bank', last4: bank.accountNumber.slice(-4) }, summary: `•••${bank.accountNumber.slice(-4)}` });
    if (grant === null) return;
    setBusy(true);
    try {
      await api('POST', '/v1/wallet/abolition/claims', bank, { headers: stepUpHeaders(grant) });
      setVersion((v) => v + 1);
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }
  const set = (key: keyof typeof bank) => (event: { target: { value: string } }) => setBank({ ...bank, [key]: event.target.value });
  const open = state?.claims.some((claim) => claim.status === 'pending' || claim.status === 'sent') ?? false;
  return (
    <MoneyPage title={t('money.refund.title')} back="/">
      {state === null ? null : !state.active ? <Notice kind="info">{t('money.refund.none')}</Notice> : (
        <>
          <p>{t('money.refund.intro', { deadline: new Date(state.claimDeadline ?? '').toLocaleDateString(language === 'ja' ? 'ja-JP' : 'en-GB') })}</p>
          {state.claims.length === 0 ? null : (
            <ul className="card" aria-label={t('money.refund.claims')}>
              {state.claims.map((claim) => (
                <li key={claim.claimId} data-claim-status={claim.status}>
                  {formatYen(claim.amount, language)} → •••{claim.accountNumberLast4}: {t(`money.refund.status.${claim.status}`)}
                </li>
              ))}
            </ul>
          )}
          {open ? null : (
            <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.refund.title')}>
              <div className="row">
                <Field label={t('money.bank.code')} inputMode="numeric" maxLength={4} value={bank.bankCode} onChange={set('bankCode')} required />
                <Field label={t('money.bank.branch')} inputMode="numeric" maxLength={3} value={bank.branchCode} onChange={set('branchCode')} required />
              </div>
              <Field label={t('money.bank.account')} inputMode="numeric" maxLength={7} value={bank.accountNumber} onChange={set('accountNumber')} required />
              <Field label={t('money.bank.holder')} value={bank.holderNameKana} onChange={set('holderNameKana')} required />
              <Button type="submit" disabled={busy}>{t('money.refund.claim')}</Button>
            </form>
          )}
        </>
      )}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </MoneyPage>
  );
}

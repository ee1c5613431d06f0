/**
 * Auto top-up settings (issue 19): threshold, amount and source (an active bank account or a card that passed
 * 3-D Secure). Turning it on asks the charge PIN and a step-up for that amount and source, as a top-up does;
 * turning it off asks nothing. Shows the caps (per day, per top-up) and why it was turned off, if it was.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { MoneyPage } from './frame.tsx';

interface Source { fundingSourceId: string; kind: 'card' | 'bank'; status: string; card: { brand: string | null; last4: string | null; threeDSecureVerified: boolean } | null; bankAccount: { accountNumberLast4: string | null } | null }
interface AutoView {
  settings: { fundingSourceId: string; threshold: string; amount: string; enabled: boolean; disabledReason: string | null } | null;
  caps: { perDayMax: number; amountMax: string; thresholdMax: string };
}

const eligible = (s: Source) => s.status === 'active' && (s.kind === 'bank' || s.card?.threeDSecureVerified === true);

export function AutoTopUpPage() {
  const { t, language } = useI18n();
  const stepUp = useStepUp();
  const [view, setView] = useState<AutoView | null>(null);
  const [sources, setSources] = useState<Source[]>([]);
  const [form, setForm] = useState({ fundingSourceId: '', threshold: '1000', amount: '3000', pin: '' });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    void Promise.all([api<AutoView>('GET', '/v1/wallet/auto-top-up'), api<{ fundingSources: Source[] }>('GET', '/v1/customer/funding-sources')]).then(([auto, list]) => {
      setView(auto);
      const usable = list.fundingSources.filter(eligible);
      setSources(usable);
      setForm((f) => ({ ...f, fundingSourceId: auto.settings?.fundingSourceId ?? usable[0]?.fundingSourceId ?? '', threshold: auto.settings?.threshold ?? f.threshold, amount: auto.settings?.amount ?? f.amount }));
    }, (failure: unknown) => setError(problemText(t, failure)));
  }, []);

  async function save(enabled: boolean, event?: FormEvent) {
    event?.preventDefault();
    setError(null);
    setSaved(false);
    const grant = enabled ? await stepUp({ action: 'top_up', params: { amountMinor: form.amount, fundingSourceId: form.fundingSourceId }, summary: formatYen(form.amount, language) }) : null;
    if (enabled && grant === null) return;
    try {
      const body = { fundingSourceId: form.fundingSourceId, threshold: form.threshold, amount: form.amount, enabled, ...(enabled ? { pin: form.pin } : {}) };
      setView(await api<AutoView>('PUT', '/v1/wallet/auto-top-up', body, grant === null ? {} : { headers: stepUpHeaders(grant) }));
      setSaved(true);
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }

  const label = (s: Source) => (s.kind === 'card' ? t('money.source.card', { brand: (s.card?.brand ?? '').toUpperCase(), last4: s.card?.last4 ?? '' }) : t('money.source.bank', { last4: s.bankAccount?.accountNumberLast4 ?? '' }));
  return (
    <MoneyPage title={t('money.auto.title')} back="/top-up">
      {view === null ? (error === null ? <p role="status">{t('common.loading')}</p> : null) : (
        <form className="card" onSubmit={(event) => void save(true, event)} aria-label={t('money.auto.title')}>
          <p>{t('money.auto.intro', { perDay: String(view.caps.perDayMax), max: formatYen(view.caps.amountMax, language) })}</p>
          <p role="status">{view.settings?.enabled === true ? t('money.auto.on') : t('money.auto.off')}</p>
          {view.settings?.disabledReason ? <Notice kind="info">{t('money.auto.disabledBecause', { reason: view.settings.disabledReason })}</Notice> : null}
          {sources.length === 0 ? <Notice kind="info">{t('money.auto.noSource')}</Notice> : (
            <fieldset className="source-choice">
              <legend>{t('money.topUp.source')}</legend>
              {sources.map((s) => (
                <label key={s.fundingSourceId} className="radio-row">
                  <input type="radio" name="auto-source" checked={form.fundingSourceId === s.fundingSourceId} onChange={() => setForm({ ...form, fundingSourceId: s.fundingSourceId })} />
                  <span>{label(s)}</span>
                </label>
              ))}
            </fieldset>
          )}
          <Field label={t('money.auto.threshold')} inputMode="numeric" value={form.threshold} onChange={(e) => setForm({ ...form, threshold: e.target.value.replace(/[^0-9]/g, '') })} required />
          <Field label={t('money.auto.amount')} inputMode="numeric" value={form.amount} onChange={(e) => setForm({ ...form, amount: e.target.value.replace(/[^0-9]/g, '') })} required />
          <Field label={t('money.topUp.pin')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={form.pin} onChange={(e) => setForm({ ...form, pin: e.target.value.replace(/[^0-9]/g, '') })} />
          <div className="row">
            <Button type="submit" disabled={form.fundingSourceId === '' || form.pin.length !== 6}>{t('money.auto.turnOn')}</Button>
            {view.settings?.enabled === true ? <Button variant="secondary" onClick={() => void save(false)}>{t('money.auto.turnOff')}</Button> : null}
          </div>
          {saved ? <Notice kind="success">{t('money.auto.saved')}</Notice> : null}
        </form>
      )}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </MoneyPage>
  );
}

/**
 * The charge PIN (STEP-04): 6 digits, not trivial, not the login password (the server checks all
 * three). Setting or changing it needs a step-up for `change_factors {factor: "charge_pin"}`; a live
 * PIN also needs the current one, a locked PIN is reset by the step-up alone. Right after sign-up the
 * wallet lands here with ?welcome=1.
 */
import { useRef, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { Loading, Page, useLoad } from './page.tsx';
import { problemCode, problemText } from './problems.ts';
import type { Factors } from './settings.tsx';
// The server's own rules (one source): a weak PIN is refused here, before a step-up is spent on it.
import { PIN_FORMAT as SIX_DIGITS, pinIsTrivial } from '../../../src/identity/pin/pin-rules.ts';



export function PinPage() {
  const { t } = useI18n();
  const { query } = useRouter();
  const welcome = query.get('welcome') === '1';
  const stepUp = useStepUp();
  const factors = useLoad<Factors>('/v1/customer/factors');
  const [currentPin, setCurrentPin] = useState('');
  const [pin, setPin] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState(false);
  const unspentGrant = useRef<string | null>(null);

  const status = factors.data?.chargePin;
  const needsCurrent = status === 'set';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setErrors({});
    setDone(false);
    // Local checks first: a step-up is spent by the request, so a typo must not cost one.
    if (!SIX_DIGITS.test(pin)) return setErrors({ pin: t('pin.format') });
    if (pinIsTrivial(pin)) return setErrors({ pin: t('pin.trivial') });
    if (pin !== repeat) return setErrors({ repeat: t('pin.mismatch') });
    if (needsCurrent && !SIX_DIGITS.test(currentPin)) return setErrors({ currentPin: t('pin.format') });
    // A grant the server did not spend (a PIN it refused before the step-up, e.g. the login password) is used again.
    const grant = unspentGrant.current ?? await stepUp({ action: 'change_factors', params: { factor: 'charge_pin' }, summary: t(status === 'not_set' ? 'pin.setTitle' : 'pin.changeTitle') });
    unspentGrant.current = null;
    if (grant === null) return;
    try {
      await api('PUT', '/v1/customer/pin', { pin, currentPin: needsCurrent ? currentPin : undefined }, { headers: stepUpHeaders(grant) });
      setPin('');
      setRepeat('');
      setCurrentPin('');
      setDone(true);
      factors.reload();
    } catch (failure) {
      const code = problemCode(failure);
      const text = problemText(t, failure);
      if (code === 'pin_invalid') unspentGrant.current = grant;
      setErrors(code === 'pin_invalid' ? { pin: text } : code === 'pin_wrong' ? { currentPin: text } : { form: text });
    }
  }

  return (
    <Page title={t('settings.page.pin')} back={welcome ? undefined : '/settings'}>
      {welcome ? <Notice kind="success">{t('pin.welcome')}</Notice> : null}
      <p>{t('pin.intro')}</p>
      {status === 'locked' ? <Notice kind="error">{t('settings.pinLocked')}</Notice> : null}
      {factors.data === null ? <Loading error={factors.error} /> : (
        <Card title={t(status === 'not_set' ? 'pin.setTitle' : 'pin.changeTitle')}>
          <form onSubmit={submit} noValidate>
            {needsCurrent ? <Field label={t('pin.current')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={currentPin} onChange={(e) => setCurrentPin(e.target.value)} error={errors.currentPin} /> : null}
            <Field label={t('pin.new')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(e) => setPin(e.target.value)} hint={t('pin.rules')} error={errors.pin} />
            <Field label={t('pin.repeat')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={repeat} onChange={(e) => setRepeat(e.target.value)} error={errors.repeat} />
            {errors.form ? <Notice kind="error">{errors.form}</Notice> : null}
            <Button type="submit">{t('pin.save')}</Button>
          </form>
        </Card>
      )}
      {done ? <Notice kind="success">{t('pin.saved')}</Notice> : null}
      {welcome ? <Link to="/" className="button secondary">{done ? t('pin.toWallet') : t('pin.later')}</Link> : null}
    </Page>
  );
}

/** First use of a tablet: the one-time activation code turns this browser into one terminal's till. */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { Button, Card, Field } from '../shared/ui.tsx';
import { tillApi, type TillSession } from './till-api.ts';

export function ActivateScreen(props: { onActivated(session: TillSession): void }) {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onActivated(await tillApi.activate(code));
    } catch (failure) {
      if (failure instanceof ApiError && failure.problem.status === 429) setError(t('activate.throttled'));
      else if (failure instanceof ApiError) setError(t('activate.failed'));
      else setError(t('error.network'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t('activate.title')}>
      <p>{t('activate.intro')}</p>
      <form onSubmit={(event) => void submit(event)}>
        <Field label={t('activate.code')} hint={t('activate.hint')} error={error} value={code} onChange={(event) => setCode(event.target.value)}
          autoComplete="off" autoCapitalize="characters" spellCheck={false} maxLength={16} required className="till-code-input" />
        <Button type="submit" disabled={busy || code.trim() === ''}>{t('activate.submit')}</Button>
      </form>
    </Card>
  );
}

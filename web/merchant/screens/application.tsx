/**
 * The applicant's screen (an applicant session: an operator asked for more information): the operator's request,
 * the application as it stands, and the form to resubmit it corrected with a reply. Resubmitting ends the session
 * (the review starts again; sign in once approved).
 */
import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { ErrorNotice } from '../../console/common.tsx';
import { useSession, type MerchantProfile } from '../session.tsx';

const FIELDS = ['nameJa', 'nameLatin', 'corporateNumber', 'representative', 'address', 'contactEmail', 'contactPhone', 'categoryCode', 'volume'] as const;

function initialValues(m: MerchantProfile): Record<string, string> {
  return {
    nameJa: m.name, nameLatin: m.nameLatin ?? '', corporateNumber: m.corporateNumber ?? '', representative: m.representative ?? '', address: m.address ?? '',
    contactEmail: m.contactEmail ?? '', contactPhone: m.contactPhone ?? '', categoryCode: m.categoryCode, volume: m.expectedMonthlyVolume === null ? '' : String(m.expectedMonthlyVolume),
  };
}

export function ApplicationScreen() {
  const { t } = useI18n();
  const session = useSession();
  const merchant = session.me!.merchant;
  const [values, setValues] = useState<Record<string, string>>(() => initialValues(merchant));
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const v = (name: string) => values[name] ?? '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/v1/merchant/application', {
        nameJa: v('nameJa'), nameLatin: v('nameLatin'), corporateNumber: v('corporateNumber'), representative: v('representative'), address: v('address'),
        contactEmail: v('contactEmail'), contactPhone: v('contactPhone'), categoryCode: v('categoryCode'), expectedMonthlyVolume: Number(v('volume') || '0'), note: note.trim(),
      });
      setDone(true);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  if (done) {
    return (
      <Card title={t('application.heading')}>
        <Notice kind="success">{t('application.done')}</Notice>
        <Button onClick={() => void session.signOut()}>{t('signOut')}</Button>
      </Card>
    );
  }
  return (
    <Card title={t('application.heading')}>
      <Notice kind="info"><strong>{t('application.requested')}</strong> {merchant.reviewNote}</Notice>
      <form onSubmit={submit}>
        <div className="form-grid">
          {FIELDS.map((name) => <Field key={name} name={name} label={t(`apply.${name}`)} required value={v(name)}
            onChange={(e) => setValues((current) => ({ ...current, [name]: e.target.value }))} inputMode={name === 'volume' || name === 'corporateNumber' ? 'numeric' : undefined} />)}
        </div>
        <Field label={t('application.note')} required maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} hint={t('application.noteHint')} />
        <ErrorNotice error={error} />
        <Button type="submit" disabled={busy}>{t('application.submit')}</Button>
      </form>
    </Card>
  );
}

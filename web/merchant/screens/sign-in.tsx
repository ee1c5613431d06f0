/** Staff sign-in (e-mail, password and authenticator code at once) and the merchant application form. */
import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../../console/common.tsx';
import { useSession } from '../session.tsx';

export function SignInScreen() {
  const { t } = useI18n();
  const session = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totpCode, setTotpCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const withPasskey = async () => {
    setBusy(true);
    setError(null);
    try {
      await session.signInWithPasskey();
    } catch (caught) {
      setError(caught instanceof Error && caught.name === 'NotAllowedError' ? t('signIn.passkeyCancelled') : problemText(caught, t));
    } finally {
      setBusy(false);
    }
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signIn({ email: email.trim(), password, totpCode: totpCode.trim() });
    } catch (caught) {
      setError(problemText(caught, t));
      setTotpCode('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="sign-in">
      <Card title={t('signIn.heading')}>
        <Button type="button" onClick={() => void withPasskey()} disabled={busy}>{t('signIn.passkey')}</Button>
        <p className="hint">{t('signIn.passkeyNote')}</p>
        <h3>{t('signIn.orPassword')}</h3>
        <p className="hint">{t('signIn.note')}</p>
        <form onSubmit={submit}>
          <Field label={t('signIn.email')} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <Field label={t('signIn.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <Field label={t('signIn.totp')} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required value={totpCode}
            onChange={(e) => setTotpCode(e.target.value.replace(/\D/g, ''))} hint={t('signIn.totpHint')} />
          {error ? <Notice kind="error">{error}</Notice> : null}
          <Button type="submit" variant="secondary" disabled={busy}>{t('signIn.submit')}</Button>
        </form>
        <p><Link to="/apply">{t('signIn.apply')}</Link></p>
      </Card>
    </div>
  );
}

const FIELDS = ['nameJa', 'nameLatin', 'corporateNumber', 'representative', 'address', 'contactEmail', 'contactPhone', 'categoryCode', 'volume'] as const;
const BANK = ['bankCode', 'branchCode', 'accountNumber', 'holder'] as const;

export function ApplyScreen() {
  const { t } = useI18n();
  const [values, setValues] = useState<Record<string, string>>({ categoryCode: '5411', bankCode: '0001', branchCode: '001' });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ totpSecret: string; totpUri: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: string) => (e: React.ChangeEvent<HTMLInputElement>) => setValues((v) => ({ ...v, [name]: e.target.value }));
  const v = (name: string) => values[name] ?? '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api<{ owner: { totpSecret: string; totpUri: string } }>('POST', '/v1/merchant/applications', {
        nameJa: v('nameJa'), nameLatin: v('nameLatin'), corporateNumber: v('corporateNumber'), representative: v('representative'), address: v('address'),
        contactEmail: v('contactEmail'), contactPhone: v('contactPhone'), categoryCode: v('categoryCode'), expectedMonthlyVolume: Number(v('volume') || '0'),
        bank: { bankCode: v('bankCode'), branchCode: v('branchCode'), accountType: 'ordinary', accountNumber: v('accountNumber'), holderNameKana: v('holder') },
        owner: { email: v('ownerEmail'), displayName: v('ownerName'), password: v('ownerPassword') },
      });
      setDone(answer.owner);
    } catch (caught) {
      setError(problemText(caught, t));
    } finally {
      setBusy(false);
    }
  };
  if (done !== null) {
    return (
      <Card title={t('apply.heading')}>
        <Notice kind="success">{t('apply.done')}</Notice>
        <p className="secret" data-testid="totp-secret">{done.totpSecret}</p>
        <p className="hint">{t('common.shownOnce')}</p>
        <p><Link to="/">{t('apply.back')}</Link></p>
      </Card>
    );
  }
  const label = (name: string) => t(`apply.${name}`);
  return (
    <Card title={t('apply.heading')}>
      <form onSubmit={submit}>
        <div className="form-grid">
          {FIELDS.map((name) => <Field key={name} name={name} label={label(name)} required value={v(name)} onChange={set(name)} inputMode={name === 'volume' || name === 'corporateNumber' ? 'numeric' : undefined} />)}
        </div>
        <h3>{t('apply.bank')}</h3>
        <div className="form-grid">{BANK.map((name) => <Field key={name} name={name} label={label(name)} required value={v(name)} onChange={set(name)} />)}</div>
        <h3>{t('apply.owner')}</h3>
        <div className="form-grid">
          <Field name="ownerName" label={t('apply.ownerName')} required value={v('ownerName')} onChange={set('ownerName')} />
          <Field name="ownerEmail" label={t('signIn.email')} type="email" required value={v('ownerEmail')} onChange={set('ownerEmail')} />
          <Field name="ownerPassword" label={t('apply.ownerPassword')} type="password" autoComplete="new-password" minLength={12} required value={v('ownerPassword')} onChange={set('ownerPassword')} />
        </div>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <Button type="submit" disabled={busy}>{t('apply.submit')}</Button>
        <p><Link to="/">{t('apply.back')}</Link></p>
      </form>
    </Card>
  );
}

/**
 * Contacts and password. Changing the phone or e-mail (REC-08): a step-up bound to the new value, a
 * code to the new contact, and only then the switch; the old contact is told and gets a "this wasn't
 * me" code. Changing the password: a step-up, the current password, and every other session ends.
 */
import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { CodeForm, stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { useSession } from '../session.tsx';
import { Page } from './page.tsx';
import { problemCode, problemText } from './problems.ts';

type Kind = 'email' | 'phone';

export function ContactsPage() {
  const { t } = useI18n();
  const { me } = useSession();
  return (
    <Page title={t('settings.page.contacts')} back="/settings">
      <p>{t('contacts.intro')}</p>
      {(['phone', 'email'] as const).map((kind) => (
        <ContactCard key={kind} kind={kind} current={me?.contacts.find((c) => c.kind === kind)?.value ?? '—'} />
      ))}
    </Page>
  );
}

function ContactCard(props: { kind: Kind; current: string }) {
  const { t } = useI18n();
  const { refresh } = useSession();
  const stepUp = useStepUp();
  const [value, setValue] = useState('');
  const [changeId, setChangeId] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'success' | 'error' | 'info'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function start(event: FormEvent) {
    event.preventDefault();
    setMessage(null);
    // The grant is bound to the value exactly as sent, so the same string goes to both.
    const sent = value.trim();
    const grant = await stepUp({ action: props.kind === 'email' ? 'change_email' : 'change_phone', params: { [props.kind]: sent }, summary: sent });
    if (grant === null) return;
    try {
      const started = await api<{ changeId: string }>('POST', `/v1/customer/contacts/${props.kind}`, { [props.kind]: sent }, { headers: stepUpHeaders(grant) });
      setChangeId(started.changeId);
      setMessage({ kind: 'info', text: t('contacts.codeSent') });
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }

  async function confirm(code: string) {
    if (changeId === null) return;
    setBusy(true);
    try {
      await api('POST', `/v1/customer/contacts/changes/${changeId}/confirm`, { code });
      setChangeId(null);
      setValue('');
      setMessage({ kind: 'success', text: t('contacts.changed') });
      await refresh();
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t(`contacts.${props.kind}`)}>
      <p className="secret-text">{props.current}</p>
      {changeId === null ? (
        <form onSubmit={start}>
          <Field label={t(`contacts.new.${props.kind}`)} type={props.kind === 'email' ? 'email' : 'tel'} autoComplete={props.kind === 'email' ? 'email' : 'tel'} value={value} onChange={(e) => setValue(e.target.value)} required />
          <Button type="submit" disabled={value.trim() === ''}>{t('contacts.change')}</Button>
        </form>
      ) : <CodeForm label={t(`contacts.code.${props.kind}`)} busy={busy} onSubmit={confirm} />}
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
    </Card>
  );
}

export function PasswordPage() {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState<number | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setErrors({});
    setDone(null);
    const grant = await stepUp({ action: 'change_password', params: {}, summary: t('password.change') });
    if (grant === null) return;
    try {
      const answer = await api<{ sessionsRevoked: number }>('POST', '/v1/customer/password', { currentPassword, newPassword }, { headers: stepUpHeaders(grant) });
      setCurrentPassword('');
      setNewPassword('');
      setDone(answer.sessionsRevoked);
    } catch (failure) {
      const code = problemCode(failure);
      const text = problemText(t, failure);
      setErrors(code === 'current_password_wrong' ? { currentPassword: text } : code?.startsWith('password_') ? { newPassword: text } : { form: text });
    }
  }

  return (
    <Page title={t('settings.page.password')} back="/settings">
      <Card>
        <form onSubmit={submit}>
          <Field label={t('password.current')} type="password" autoComplete="current-password" value={currentPassword} onChange={(e) => setCurrentPassword(e.target.value)} error={errors.currentPassword} required />
          <Field label={t('password.new')} type="password" autoComplete="new-password" value={newPassword} onChange={(e) => setNewPassword(e.target.value)} hint={t('password.rules')} error={errors.newPassword} required />
          {errors.form ? <Notice kind="error">{errors.form}</Notice> : null}
          <Button type="submit">{t('password.change')}</Button>
        </form>
      </Card>
      {done === null ? null : <Notice kind="success">{t('password.changed', { count: done })}</Notice>}
    </Page>
  );
}

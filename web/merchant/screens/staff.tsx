/** Staff (owner only; the server checks it too): who works here with which role, add someone with a role, change a role, disable. */
import { useId, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { ActionButton, ErrorNotice, Loading, Pill, Table, useLoad, When } from '../../console/common.tsx';
import { useSession, type Role } from '../session.tsx';

interface StaffUser { id: string; email: string; displayName: string; role: Role; status: 'active' | 'disabled'; totpConfirmed: boolean; createdAt: string }
const ROLES: readonly Role[] = ['owner', 'manager', 'clerk', 'developer'];

export function StaffScreen() {
  const { t } = useI18n();
  const session = useSession();
  const users = useLoad<{ users: StaffUser[] }>('/v1/merchant/users');
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ email: string; password: string; totpSecret: string } | null>(null);
  if (users.data === null) return <Loading loaded={users} />;
  const changeRole = async (user: StaffUser, role: Role) => {
    setError(null);
    try {
      await api('POST', `/v1/merchant/users/${user.id}/role`, { role });
      await users.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <>
      {created === null ? null : (
        <Notice kind="success">
          {t('staff.created')} {created.email} — {t('signIn.password')}: <span className="secret" data-testid="staff-password">{created.password}</span>
          {' '}{t('staff.totpSecret')}: <span className="secret" data-testid="staff-totp">{created.totpSecret}</span> — {t('common.shownOnce')}
        </Notice>
      )}
      <ErrorNotice error={error} />
      <Card title={t('staff.heading')}>
        <p className="hint">{t('staff.rolesNote')}</p>
        <Table caption={t('staff.heading')} head={[t('staff.name'), t('signIn.email'), t('staff.role'), t('col.status'), t('staff.since'), '']} empty={users.data.users.length === 0}>
          {users.data.users.map((u) => {
            const self = u.id === session.me?.user.id;
            return (
              <tr key={u.id}>
                <td>{u.displayName}</td><td>{u.email}</td>
                <td>
                  {self || u.status !== 'active' ? t(`role.${u.role}`) : (
                    <select aria-label={`${t('staff.role')}: ${u.email}`} value={u.role} onChange={(e) => void changeRole(u, e.target.value as Role)}>
                      {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}
                    </select>
                  )}
                </td>
                <td><Pill tone={u.status === 'active' ? 'ok' : 'muted'}>{t(`staff.status.${u.status}`)}</Pill></td>
                <td><When at={u.createdAt} /></td>
                <td>{!self && u.status === 'active' ? <ActionButton label={t('staff.disable')} title={`${t('staff.disable')}: ${u.email}`} variant="danger" needsReason={false}
                  description={t('staff.disableText')} run={() => api('POST', `/v1/merchant/users/${u.id}/disable`)} onDone={() => void users.reload()} /> : null}</td>
              </tr>
            );
          })}
        </Table>
      </Card>
      <NewStaff onCreated={(answer) => { setCreated(answer); void users.reload(); }} />
    </>
  );
}

function NewStaff(props: { onCreated(answer: { email: string; password: string; totpSecret: string }): void }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('clerk');
  const roleId = useId();
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const answer = await api<{ user: { email: string }; password: string; totpSecret: string }>('POST', '/v1/merchant/users', { email: email.trim(), displayName: displayName.trim(), role });
      props.onCreated({ email: answer.user.email, password: answer.password, totpSecret: answer.totpSecret });
      setEmail('');
      setDisplayName('');
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Card title={t('staff.add')}>
      <form onSubmit={submit}>
        <div className="form-grid">
          <Field label={t('staff.name')} required maxLength={100} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
          <Field label={t('signIn.email')} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <div className="field">
            <label htmlFor={roleId}>{t('staff.role')}</label>
            <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}</select>
          </div>
        </div>
        <ErrorNotice error={error} />
        <Button type="submit">{t('staff.addButton')}</Button>
      </form>
    </Card>
  );
}

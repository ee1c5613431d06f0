/**
 * Devices and sessions (SES-02/04). A remembered device signs in without a second factor, so
 * forgetting one also ends its sessions; "sign out other sessions" keeps this one, "sign out
 * everywhere" ends this one too.
 */
import { useState } from 'react';
import { api, setCsrfToken } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { useRouter } from '../../shared/router.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { useSession } from '../session.tsx';
import { formatDate, Loading, Page, useLoad } from './page.tsx';
import { problemText } from './problems.ts';

interface SessionView { id: string; current: boolean; createdAt: string; lastSeenAt: string | null; ip: string | null; userAgent: string | null; authMethods: string[] }
interface DeviceView { id: string; label: string | null; current: boolean; createdAt: string; lastSeenAt: string | null }

/** "Chrome on Android" is enough to recognise a browser; the full user agent is noise on a phone. */
export function describeAgent(userAgent: string | null, unknown: string): string {
  if (userAgent === null || userAgent === '') return unknown;
  const browser = /Edg\//.test(userAgent) ? 'Edge' : /Firefox\//.test(userAgent) ? 'Firefox' : /Chrome\//.test(userAgent) ? 'Chrome' : /Safari\//.test(userAgent) ? 'Safari' : null;
  const system = /Android/.test(userAgent) ? 'Android' : /iPhone|iPad/.test(userAgent) ? 'iOS' : /Windows/.test(userAgent) ? 'Windows' : /Mac OS X/.test(userAgent) ? 'macOS' : /Linux/.test(userAgent) ? 'Linux' : null;
  return [browser, system].filter(Boolean).join(' / ') || userAgent.slice(0, 40);
}

export function SessionsPage() {
  const { t, language } = useI18n();
  const { refresh } = useSession();
  const { navigate } = useRouter();
  const sessions = useLoad<{ sessions: SessionView[] }>('/v1/customer/sessions');
  const devices = useLoad<{ devices: DeviceView[] }>('/v1/customer/devices');
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);

  async function run(work: () => Promise<void>, done: string) {
    setMessage(null);
    try {
      await work();
      setMessage({ kind: 'success', text: done });
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
    sessions.reload();
    devices.reload();
  }

  async function signedOutHere() {
    setCsrfToken(null);
    navigate('/', { replace: true });
    await refresh();
  }

  const revokeOthers = () => run(async () => {
    for (const session of sessions.data?.sessions ?? []) {
      if (!session.current) await api('DELETE', `/v1/customer/sessions/${session.id}`);
    }
  }, t('sessions.othersRevoked'));

  async function revokeEverywhere() {
    if (!confirm(t('sessions.everywhereConfirm'))) return;
    try {
      await api('POST', '/v1/customer/sessions/revoke-all', {});
      await signedOutHere();
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }

  async function forgetDevice(device: DeviceView) {
    if (device.current) {
      if (!confirm(t('devices.forgetCurrentConfirm'))) return;
      try {
        await api('DELETE', `/v1/customer/devices/${device.id}`);
        await signedOutHere();
      } catch (failure) {
        setMessage({ kind: 'error', text: problemText(t, failure) });
      }
      return;
    }
    await run(() => api('DELETE', `/v1/customer/devices/${device.id}`), t('devices.forgotten'));
  }

  return (
    <Page title={t('settings.page.sessions')} back="/settings">
      <Card title={t('sessions.title')}>
        {sessions.data === null ? <Loading error={sessions.error} /> : (
          <ul className="account-list">
            {sessions.data.sessions.map((session) => (
              <li key={session.id}>
                <div>
                  <strong>{describeAgent(session.userAgent, t('sessions.unknownBrowser'))}</strong>
                  {session.current ? <span className="tag">{t('sessions.current')}</span> : null}
                  <div className="meta">{t('sessions.signedIn', { date: formatDate(session.createdAt, language) })} · {t('sessions.lastSeen', { date: formatDate(session.lastSeenAt, language) })}{session.ip ? ` · ${session.ip}` : ''}</div>
                </div>
                {session.current ? null : <Button variant="secondary" onClick={() => void run(() => api('DELETE', `/v1/customer/sessions/${session.id}`), t('sessions.revoked'))}>{t('sessions.revoke')}</Button>}
              </li>
            ))}
          </ul>
        )}
        <div className="row">
          <Button variant="secondary" onClick={() => void revokeOthers()}>{t('sessions.revokeOthers')}</Button>
          <Button variant="danger" onClick={() => void revokeEverywhere()}>{t('sessions.revokeAll')}</Button>
        </div>
      </Card>
      <Card title={t('devices.title')}>
        <p className="hint">{t('devices.intro')}</p>
        {devices.data === null ? <Loading error={devices.error} /> : devices.data.devices.length === 0 ? <p>{t('devices.none')}</p> : (
          <ul className="account-list">
            {devices.data.devices.map((device) => (
              <li key={device.id}>
                <div>
                  <strong>{describeAgent(device.label, t('sessions.unknownBrowser'))}</strong>
                  {device.current ? <span className="tag">{t('devices.current')}</span> : null}
                  <div className="meta">{t('devices.remembered', { date: formatDate(device.createdAt, language) })} · {t('sessions.lastSeen', { date: formatDate(device.lastSeenAt, language) })}</div>
                </div>
                <Button variant="secondary" onClick={() => void forgetDevice(device)}>{t('devices.forget')}</Button>
              </li>
            ))}
          </ul>
        )}
      </Card>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
    </Page>
  );
}

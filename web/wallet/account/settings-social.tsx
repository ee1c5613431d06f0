/**
 * Linked social accounts. Linking needs a step-up `link_social {providerId}` and then a trip to the
 * provider; Koban's callback brings the browser back here with `#linked=<provider>` or `#error=<code>`.
 * Unlinking needs a step-up `unlink_social {identityId}` and is refused for the last way to sign in.
 */
import { useEffect, useState } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { formatDate, Loading, Page, takeFragment, useLoad } from './page.tsx';
import { problemText } from './problems.ts';
import { providerName } from './sign-in.tsx';

interface Linked { id: string; providerId: string; linkedAt: string }

export function SocialPage() {
  const { t, language } = useI18n();
  const stepUp = useStepUp();
  const linked = useLoad<{ linked: Linked[] }>('/v1/customer/social');
  const providers = useLoad<{ providers: Array<{ id: string; enabled: boolean }> }>('/v1/customer/social/providers');
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);

  useEffect(() => {
    const fragment = takeFragment();
    const provider = fragment.get('linked');
    if (provider !== null) setMessage({ kind: 'success', text: t('social.linked', { provider: providerName(t, provider) }) });
    const code = fragment.get('error');
    if (code !== null) setMessage({ kind: 'error', text: t(`problem.${code}`) === `problem.${code}` ? t('problem.social_login_failed') : t(`problem.${code}`) });
  }, []);

  async function link(providerId: string) {
    setMessage(null);
    const grant = await stepUp({ action: 'link_social', params: { providerId }, summary: providerName(t, providerId) });
    if (grant === null) return;
    try {
      const { authorizationUrl } = await api<{ authorizationUrl: string }>('POST', `/v1/customer/social/${encodeURIComponent(providerId)}/link`, {}, { headers: stepUpHeaders(grant) });
      location.assign(authorizationUrl);
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }

  async function unlink(identity: Linked) {
    setMessage(null);
    const grant = await stepUp({ action: 'unlink_social', params: { identityId: identity.id }, summary: providerName(t, identity.providerId) });
    if (grant === null) return;
    try {
      await api('DELETE', `/v1/customer/social/${identity.id}`, undefined, { headers: stepUpHeaders(grant) });
      setMessage({ kind: 'success', text: t('social.unlinked') });
      linked.reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: problemText(t, failure) });
    }
  }

  const linkedIds = new Set(linked.data?.linked.map((l) => l.providerId) ?? []);
  const linkable = (providers.data?.providers ?? []).filter((p) => p.enabled && !linkedIds.has(p.id));
  return (
    <Page title={t('settings.page.social')} back="/settings">
      <p>{t('social.intro')}</p>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
      <Card title={t('social.yours')}>
        {linked.data === null ? <Loading error={linked.error} /> : linked.data.linked.length === 0 ? <p>{t('social.none')}</p> : (
          <ul className="account-list">
            {linked.data.linked.map((identity) => (
              <li key={identity.id}>
                <div>
                  <strong>{providerName(t, identity.providerId)}</strong>
                  <div className="meta">{t('social.linkedAt', { date: formatDate(identity.linkedAt, language) })}</div>
                </div>
                <Button variant="secondary" onClick={() => void unlink(identity)}>{t('social.unlink')}</Button>
              </li>
            ))}
          </ul>
        )}
      </Card>
      {linkable.length === 0 ? null : (
        <Card title={t('social.add')}>
          <div className="row">
            {linkable.map((provider) => <Button key={provider.id} onClick={() => void link(provider.id)}>{t('social.linkWith', { provider: providerName(t, provider.id) })}</Button>)}
          </div>
        </Card>
      )}
    </Page>
  );
}

/**
 * The signed-in home: balance from the ledger and the account's state, the big Pay button, Scan, Top up,
 * History, recent activity, and "freeze my account". The balance refreshes whenever a live notification
 * arrives, so money moving elsewhere shows here at once.
 */
import { useEffect, useState } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Card, ConnectionLost, NoAnswer, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { useLiveFeed } from '../common/live-feed.ts';
import { FrozenNotice, MoneyPage, NotMeButton, formatWhen, notMeApplies, useSummary } from './frame.tsx';
import { HistoryList, type HistoryItem } from './history.tsx';
import { WaitingConfirmationsBanner } from './confirmations.tsx';

/**
 * While the prepaid instrument is being abolished (Art. 20) the home screen says so first, with the deadline and a
 * link to claim the balance: the notice was sent, but the customer who opens the app must not have to find it.
 */
function AbolitionBanner() {
  const { t, language } = useI18n();
  const [deadline, setDeadline] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api<{ active: boolean; claimDeadline: string | null }>('GET', '/v1/wallet/abolition').then(
      (answer) => { if (live && answer.active && answer.claimDeadline !== null) setDeadline(answer.claimDeadline); }, () => undefined);
    return () => { live = false; };
  }, []);
  if (deadline === null) return null;
  return (
    <section className="card abolition-banner" role="alert" aria-labelledby="abolition-banner-heading" data-testid="abolition-banner">
      <h3 id="abolition-banner-heading">{t('money.refund.title')}</h3>
      <p>{t('money.refund.intro', { deadline: formatWhen(deadline, language) })}</p>
      <Link to="/refund" className="button primary">{t('money.refund.claim')}</Link>
    </section>
  );
}

export function HomePage() {
  const { t, language } = useI18n();
  const { received } = useLiveFeed();
  // Money moved (a live notification arrived): balance and recent activity are read again.
  const { summary, error, reload, stale, lastUpdatedAt } = useSummary(received.length);
  const [recent, setRecent] = useState<HistoryItem[] | null>(null);
  useEffect(() => {
    let live = true;
    api<{ items: HistoryItem[] }>('GET', '/v1/wallet/history?limit=5').then((answer) => { if (live) setRecent(answer.items); }, () => { if (live) setRecent([]); });
    return () => { live = false; };
  }, [received.length]);
  const frozen = summary?.status === 'frozen';
  const empty = summary !== null && summary.balance === '0' && recent !== null && recent.length === 0;
  return (
    <MoneyPage title={t('money.home.title')} hideHeading>
      <AbolitionBanner />
      <Card title={t('money.home.balance')}>
        {summary === null ? (error === null ? <p role="status">{t('common.loading')}</p> : <NoAnswer message={error} onRetry={reload} />) : (
          <>
            {stale ? <ConnectionLost lastUpdatedAt={lastUpdatedAt} onRetry={reload} /> : null}
            <p className="balance" data-testid="balance">{formatYen(summary.balance, language)}</p>
            <p className={`account-state ${frozen ? 'is-frozen' : ''}`}>{t(`money.state.${summary.status}`)}</p>
          </>
        )}
      </Card>
      {empty && !frozen ? (
        <section className="card empty-invite" aria-labelledby="empty-invite-heading">
          <h3 id="empty-invite-heading">{t('money.home.emptyTitle')}</h3>
          <p>{t('money.home.emptyBody')}</p>
          <Link to="/top-up" className="button primary">{t('money.home.emptyAction')}</Link>
        </section>
      ) : null}
      {frozen ? <FrozenNotice /> : null}
      <WaitingConfirmationsBanner onSettled={reload} />
      <Link to="/pay" className={`button ${frozen ? 'secondary' : 'primary'} pay-button`}>{t('money.home.pay')}</Link>
      <div className="row money-actions">
        <Link to="/scan" className="button secondary">{t('money.home.scan')}</Link>
        <Link to="/top-up" className="button secondary">{t('money.home.topUp')}</Link>
        <Link to="/send" className="button secondary">{t('money.home.send')}</Link>
        <Link to="/history" className="button secondary">{t('money.home.history')}</Link>
        <Link to="/notifications" className="button secondary">{t('money.home.notifications')}</Link>
      </div>
      <Card title={t('money.home.recent')}>
        {recent === null ? <p role="status">{t('common.loading')}</p> : <HistoryList items={recent} language={language} />}
        <Link to="/history" className="button ghost">{t('money.home.allHistory')}</Link>
      </Card>
      {frozen ? null : <FreezeCard onFrozen={reload} />}
    </MoneyPage>
  );
}

/** "Freeze my account" when something looks wrong but there is no one notification to point at. */
function FreezeCard(props: { onFrozen(): void }) {
  const { t } = useI18n();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function freeze() {
    setError(null);
    try {
      await api('POST', '/v1/customer/freeze', {});
      props.onFrozen();
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <Card title={t('money.freeze.title')}>
      <p>{t('money.freeze.body')}</p>
      {confirming ? (
        <div className="row">
          <Button variant="danger" onClick={() => void freeze()}>{t('money.freeze.confirm')}</Button>
          <Button variant="secondary" onClick={() => setConfirming(false)}>{t('common.cancel')}</Button>
        </div>
      ) : <Button variant="danger" onClick={() => setConfirming(true)}>{t('money.freeze.button')}</Button>}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </Card>
  );
}

interface FeedEntry { id: string; kind: string; title: string; body: string; createdAt: string; contestable: boolean }

/** The whole notification feed (payments, top-ups, security alerts), each with "this wasn't me". */
export function NotificationsPage() {
  const { t, language } = useI18n();
  const { received } = useLiveFeed();
  const [entries, setEntries] = useState<FeedEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api<{ notifications: FeedEntry[] }>('GET', '/v1/customer/notifications').then((answer) => { if (live) setEntries(answer.notifications); }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [received.length]);
  return (
    <MoneyPage title={t('money.notifications.title')} back="/">
      {entries === null ? (error === null ? <p role="status">{t('common.loading')}</p> : <Notice kind="error">{error}</Notice>) : entries.length === 0 ? <p>{t('money.notifications.empty')}</p> : (
        <ul className="money-list">
          {entries.map((entry) => (
            <li key={entry.id} className="notification-item">
              <p className="item-title">{entry.title}</p>
              <p className="meta">{formatWhen(entry.createdAt, language)}</p>
              {notMeApplies(entry) ? <NotMeButton entry={entry} /> : null}
            </li>
          ))}
        </ul>
      )}
    </MoneyPage>
  );
}

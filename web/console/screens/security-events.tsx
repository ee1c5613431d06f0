/**
 * Security events (issue 14): customers' sign-ins and failures, second factors and their locks, factor
 * changes, SMS budget refusals and forged provider callbacks, per customer or platform-wide, newest first.
 * The server masks addresses for roles that may not see them and audits every read.
 */
import { useState, type FormEvent } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field } from '../../shared/ui.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { ErrorNotice, Loading, Pill, Short, Table, useLoad, When } from '../common.tsx';
import { ops } from '../session.tsx';

interface SecurityEvent {
  seq: string; id: string; occurredAt: string; type: string; outcome: string; actor: string; customerId: string | null;
  deviceRef: string | null; ip: string | null; userAgent: string | null; reasons: string[];
}
interface Page { events: SecurityEvent[]; nextBefore: string | null }

export const SECURITY_EVENT_GROUPS = ['sign_in', 'factors', 'locks', 'contacts', 'callbacks', 'sms', 'platform'] as const;
const OUTCOMES = ['not_success', 'failure', 'refused', 'success'] as const;
const FILTERS = ['customerId', 'type', 'outcome'] as const;

function outcomeTone(outcome: string): 'ok' | 'warn' | 'bad' {
  return outcome === 'success' ? 'ok' : outcome === 'refused' ? 'bad' : 'warn';
}

export function SecurityEventsScreen() {
  const { t } = useI18n();
  const router = useRouter();
  const [filters, setFilters] = useState<Record<string, string>>(() => Object.fromEntries(FILTERS.map((f) => [f, router.query.get(f) ?? ''])));
  const [older, setOlder] = useState<SecurityEvent[]>([]);
  const [nextBefore, setNextBefore] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const query = new URLSearchParams();
  for (const f of FILTERS) { const v = router.query.get(f); if (v) query.set(f, v); }
  const path = `/v1/ops/security-events?${query.toString()}`;
  const first = useLoad<Page>(path);
  const events = [...(first.data?.events ?? []), ...older];
  const cursor = older.length > 0 ? nextBefore : first.data?.nextBefore ?? null;
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const f of FILTERS) if (filters[f]?.trim()) next.set(f, filters[f]!.trim());
    setOlder([]);
    router.navigate(`/security-events?${next.toString()}`, { replace: true });
  };
  const more = async () => {
    try {
      const page = await ops<Page>('GET', `${path}&before=${cursor ?? ''}`);
      setOlder((o) => [...o, ...page.events]);
      setNextBefore(page.nextBefore);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <>
      <h2 className="screen-title">{t('nav.securityEvents')}</h2>
      <Card title={t('audit.filters')}>
        <form onSubmit={apply} className="filter-grid">
          <Field label={t('securityEvents.filter.customerId')} value={filters['customerId'] ?? ''} onChange={(e) => setFilters({ ...filters, customerId: e.target.value })} />
          <label className="select">{t('securityEvents.filter.type')}
            <select value={filters['type'] ?? ''} onChange={(e) => setFilters({ ...filters, type: e.target.value })}>
              <option value="">{t('securityEvents.all')}</option>
              {SECURITY_EVENT_GROUPS.map((g) => <option key={g} value={g}>{t(`securityEvents.group.${g}`)}</option>)}
            </select>
          </label>
          <label className="select">{t('securityEvents.filter.outcome')}
            <select value={filters['outcome'] ?? ''} onChange={(e) => setFilters({ ...filters, outcome: e.target.value })}>
              <option value="">{t('securityEvents.all')}</option>
              {OUTCOMES.map((o) => <option key={o} value={o}>{t(`securityEvents.outcome.${o}`)}</option>)}
            </select>
          </label>
          <Button type="submit" variant="secondary">{t('audit.apply')}</Button>
        </form>
      </Card>
      <Card title={t('audit.events')}>
        {first.data === null ? <Loading loaded={first} /> : (
          <Table caption={t('nav.securityEvents')} head={[t('col.when'), t('securityEvents.col.customer'), t('securityEvents.col.event'), t('col.outcome'), t('securityEvents.col.reasons'), t('securityEvents.col.source')]} empty={events.length === 0}>
            {events.map((e) => (
              <tr key={e.id}>
                <td><When at={e.occurredAt} /></td>
                <td>{e.customerId ? <Link to={`/customers/${e.customerId}`}><Short id={e.customerId} /></Link> : '—'}</td>
                <td><code>{e.type}</code></td>
                <td><Pill tone={outcomeTone(e.outcome)}>{e.outcome}</Pill></td>
                <td>{e.reasons.length > 0 ? e.reasons.join(', ') : '—'}</td>
                <td>{e.ip ?? '—'}{e.userAgent ? <span className="hint"> · {e.userAgent}</span> : null}</td>
              </tr>
            ))}
          </Table>
        )}
        <ErrorNotice error={error} />
        {cursor ? <Button variant="secondary" onClick={more}>{t('common.more')}</Button> : null}
      </Card>
    </>
  );
}

/** The newest security events of one customer, on the account page, with a link to the full view. */
export function CustomerSecurityEvents(props: { customerId: string }) {
  const { t } = useI18n();
  const loaded = useLoad<Page>(`/v1/ops/security-events?customerId=${props.customerId}&limit=20`);
  return (
    <Card title={t('securityEvents.forCustomer')}>
      {loaded.data === null ? <Loading loaded={loaded} /> : (
        <Table caption={t('securityEvents.forCustomer')} head={[t('col.when'), t('securityEvents.col.event'), t('col.outcome'), t('securityEvents.col.reasons'), t('securityEvents.col.source')]} empty={loaded.data.events.length === 0}>
          {loaded.data.events.map((e) => (
            <tr key={e.id}>
              <td><When at={e.occurredAt} /></td><td><code>{e.type}</code></td>
              <td><Pill tone={outcomeTone(e.outcome)}>{e.outcome}</Pill></td>
              <td>{e.reasons.length > 0 ? e.reasons.join(', ') : '—'}</td><td>{e.ip ?? '—'}</td>
            </tr>
          ))}
        </Table>
      )}
      <Link to={`/security-events?customerId=${props.customerId}`}>{t('nav.securityEvents')} →</Link>
    </Card>
  );
}

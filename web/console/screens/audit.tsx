/** The audit log: its hash-chain verification (run on opening, and on demand) and a filterable list. */
import { useState, type FormEvent } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { useRouter } from '../../shared/router.tsx';
import { ErrorNotice, Loading, Pill, Table, useLoad, When } from '../common.tsx';
import { ops } from '../session.tsx';
import { useOperatorNames } from './operators.tsx';

interface Verification { ok: boolean; checkedAt: string; blocks: number; sealedEvents: number; unsealedEvents: number; headBlockNo: string | null; headHash: string; firstProblem: string | null; problems: string[] }
interface AuditEvent { id: string; occurredAt: string; actorKind: string; actorId: string; action: string; targetKind: string | null; targetId: string | null; reason: string | null; details: unknown; ip: string | null; outcome: string }
interface Page { events: AuditEvent[]; nextBefore: string | null }

const FILTERS = ['category', 'action', 'actorId', 'targetKind', 'targetId'] as const;
/** Actions (what changed something), reads of personal data (who looked at whom), or both. */
const CATEGORIES = ['actions', 'data_access', 'all'] as const;

export function AuditScreen() {
  const { t } = useI18n();
  const router = useRouter();
  const names = useOperatorNames();
  const [filters, setFilters] = useState<Record<string, string>>(() => Object.fromEntries(FILTERS.map((f) => [f, router.query.get(f) ?? ''])));
  const [older, setOlder] = useState<AuditEvent[]>([]);
  const [nextBefore, setNextBefore] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const query = new URLSearchParams();
  for (const f of FILTERS) { const v = router.query.get(f); if (v) query.set(f, v); }
  const path = `/v1/ops/audit?${query.toString()}`;
  const first = useLoad<Page>(path);
  const events = [...(first.data?.events ?? []), ...older];
  const cursor = older.length > 0 ? nextBefore : first.data?.nextBefore ?? null;
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const f of FILTERS) if (filters[f]?.trim()) next.set(f, filters[f]!.trim());
    setOlder([]);
    router.navigate(`/audit?${next.toString()}`, { replace: true });
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
  const actor = (e: AuditEvent) => (e.actorKind === 'operator' ? names(e.actorId) : `${e.actorKind}:${e.actorId.slice(0, 12)}`);
  return (
    <>
      <h2 className="screen-title">{t('nav.audit')}</h2>
      <VerificationCard />
      <Card title={t('audit.filters')}>
        <form onSubmit={apply} className="filter-grid">
          <div className="field">
            <label htmlFor="audit-category">{t('audit.filter.category')}</label>
            <select id="audit-category" value={filters['category'] || 'actions'} onChange={(e) => setFilters({ ...filters, category: e.target.value })}>
              {CATEGORIES.map((c) => <option key={c} value={c}>{t(`audit.category.${c}`)}</option>)}
            </select>
          </div>
          {FILTERS.filter((f) => f !== 'category').map((f) => <Field key={f} label={t(`audit.filter.${f}`)} value={filters[f] ?? ''} onChange={(e) => setFilters({ ...filters, [f]: e.target.value })} />)}
          <Button type="submit" variant="secondary">{t('audit.apply')}</Button>
        </form>
      </Card>
      <Card title={t('audit.events')}>
        {first.data === null ? <Loading loaded={first} /> : (
          <Table caption={t('audit.events')} head={[t('col.when'), t('col.who'), t('col.action'), t('col.target'), t('col.reason'), t('col.outcome')]} empty={events.length === 0}>
            {events.map((e) => (
              <tr key={e.id}>
                <td><When at={e.occurredAt} /></td><td>{actor(e)}</td><td><code>{e.action}</code></td>
                <td>{e.targetKind ? <code className="wrap">{e.targetKind}:{e.targetId}</code> : '—'}</td><td>{e.reason ?? '—'}</td>
                <td><Pill tone={e.outcome === 'success' ? 'ok' : 'bad'}>{e.outcome}</Pill></td>
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

function VerificationCard() {
  const { t } = useI18n();
  const loaded = useLoad<Verification>('/v1/ops/audit/verification');
  const v = loaded.data;
  return (
    <Card title={t('audit.verification')}>
      {v === null ? <Loading loaded={loaded} /> : (
        <>
          {v.ok ? <Notice kind="success">{t('audit.verified', { blocks: v.blocks, events: v.sealedEvents })}</Notice>
            : <Notice kind="error">{t('audit.broken', { problem: v.firstProblem ?? '?' })}</Notice>}
          <dl className="facts">
            <div><dt>{t('audit.headHash')}</dt><dd><code className="wrap" data-testid="head-hash">{v.headHash}</code></dd></div>
            <div><dt>{t('audit.headBlock')}</dt><dd>{v.headBlockNo ?? '—'}</dd></div>
            <div><dt>{t('audit.unsealed')}</dt><dd>{v.unsealedEvents}</dd></div>
            <div><dt>{t('audit.checkedAt')}</dt><dd><When at={v.checkedAt} /></dd></div>
          </dl>
          {v.problems.length > 1 ? <ul className="problems">{v.problems.map((p) => <li key={p}>{p}</li>)}</ul> : null}
          <p className="hint">{t('audit.headHashHint')}</p>
        </>
      )}
      <Button variant="secondary" onClick={() => void loaded.reload()}>{t('audit.verifyNow')}</Button>
    </Card>
  );
}

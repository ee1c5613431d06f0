/**
 * History: every yen moved in or out (top-ups, payments, refunds, compensation), filtered by kind and a
 * date range, paged by the server's cursor; and one movement in detail.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n, type Language } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { MoneyPage, formatWhen } from './frame.tsx';

export interface HistoryItem {
  transferId: string;
  kind: 'top_up' | 'payment' | 'refund' | 'compensation' | 'other';
  direction: 'in' | 'out';
  amount: string;
  at: string;
  status: string;
  merchantName: string | null;
  storeName: string | null;
  orderDescription: string | null;
  paymentId: string | null;
  refundId: string | null;
  topUpId: string | null;
  fundingSource: { kind: string; brand: string | null; last4: string | null } | null;
  reference: string | null;
}

const KINDS = ['', 'top_up', 'payment', 'refund', 'compensation', 'other'] as const;

function signed(item: HistoryItem, language: Language): string {
  return `${item.direction === 'in' ? '+' : '−'}${formatYen(item.amount, language)}`;
}

export function useCounterparty(): (item: HistoryItem) => string {
  const { t } = useI18n();
  return (item) => {
    if (item.merchantName !== null) return item.storeName === null ? item.merchantName : `${item.merchantName} ${item.storeName}`;
    if (item.fundingSource !== null) return t(`money.source.${item.fundingSource.kind === 'bank' ? 'bank' : 'card'}`, { brand: (item.fundingSource.brand ?? '').toUpperCase(), last4: item.fundingSource.last4 ?? '' });
    return t(`money.kind.${item.kind}`);
  };
}

export function HistoryList(props: { items: readonly HistoryItem[]; language: Language; byMonth?: boolean }) {
  const { t } = useI18n();
  if (props.items.length === 0) return <p>{t('money.history.empty')}</p>;
  if (props.byMonth !== true) return <HistoryRows items={props.items} language={props.language} />;
  return (
    <>
      {groupByMonth(props.items, props.language).map((group) => (
        <section key={group.label} className="history-month" aria-label={group.label}>
          <h3 className="history-month-heading">{group.label}</h3>
          <HistoryRows items={group.items} language={props.language} />
        </section>
      ))}
    </>
  );
}

/** Consecutive items (newest first, as the server pages them) under their month in Japan's time: 「2026年12月」. */
function groupByMonth(items: readonly HistoryItem[], language: Language): Array<{ label: string; items: HistoryItem[] }> {
  const format = new Intl.DateTimeFormat(language === 'ja' ? 'ja-JP' : 'en-GB', { year: 'numeric', month: 'long', timeZone: 'Asia/Tokyo' });
  const groups: Array<{ label: string; items: HistoryItem[] }> = [];
  for (const item of items) {
    const label = format.format(new Date(item.at));
    const last = groups.at(-1);
    if (last?.label === label) last.items.push(item);
    else groups.push({ label, items: [item] });
  }
  return groups;
}

function HistoryRows(props: { items: readonly HistoryItem[]; language: Language }) {
  const { t } = useI18n();
  const counterparty = useCounterparty();
  return (
    <ul className="money-list history-list">
      {props.items.map((item) => (
        <li key={item.transferId}>
          <Link to={`/history/${item.transferId}`} className="history-row">
            <span className="history-main">
              <span className="item-title">{t(`money.kind.${item.kind}`)}</span>
              <span className="meta">{counterparty(item)} · {formatWhen(item.at, props.language)}</span>
            </span>
            <span className={`amount ${item.direction}`}>{signed(item, props.language)}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

interface Filters { kind: string; from: string; to: string }

function queryOf(filters: Filters, cursor: string | null): string {
  const query = new URLSearchParams({ limit: '20' });
  if (filters.kind !== '') query.set('kind', filters.kind);
  if (filters.from !== '') query.set('from', filters.from);
  if (filters.to !== '') query.set('to', filters.to);
  if (cursor !== null) query.set('cursor', cursor);
  return query.toString();
}

export function HistoryPage() {
  const { t, language } = useI18n();
  const { query, navigate } = useRouter();
  // Filters live in the URL, so a filtered list survives reload and back.
  const applied: Filters = { kind: query.get('kind') ?? '', from: query.get('from') ?? '', to: query.get('to') ?? '' };
  const [draft, setDraft] = useState<Filters>(applied);
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = queryOf(applied, null);
  useEffect(() => {
    let live = true;
    setItems(null);
    setError(null);
    api<{ items: HistoryItem[]; nextCursor: string | null }>('GET', `/v1/wallet/history?${key}`).then((page) => {
      if (!live) return;
      setItems(page.items);
      setCursor(page.nextCursor);
    }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [key]);
  async function more() {
    try {
      const page = await api<{ items: HistoryItem[]; nextCursor: string | null }>('GET', `/v1/wallet/history?${queryOf(applied, cursor)}`);
      setItems((current) => [...(current ?? []), ...page.items]);
      setCursor(page.nextCursor);
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  function apply(event: FormEvent) {
    event.preventDefault();
    const params = new URLSearchParams(Object.entries(draft).filter(([, value]) => value !== ''));
    navigate(`/history${params.size > 0 ? `?${params.toString()}` : ''}`, { replace: true });
  }
  return (
    <MoneyPage title={t('money.history.title')} back="/">
      <form className="card history-filters" onSubmit={apply} aria-label={t('money.history.filters')}>
        <div className="field">
          <label htmlFor="history-kind">{t('money.history.kind')}</label>
          <select id="history-kind" value={draft.kind} onChange={(event) => setDraft({ ...draft, kind: event.target.value })}>
            {KINDS.map((kind) => <option key={kind} value={kind}>{t(kind === '' ? 'money.history.allKinds' : `money.kind.${kind}`)}</option>)}
          </select>
        </div>
        <div className="row">
          <Field label={t('money.history.from')} type="date" value={draft.from} onChange={(event) => setDraft({ ...draft, from: event.target.value })} />
          <Field label={t('money.history.to')} type="date" value={draft.to} onChange={(event) => setDraft({ ...draft, to: event.target.value })} />
        </div>
        <Button type="submit">{t('money.history.apply')}</Button>
      </form>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      {items === null ? (error === null ? <p role="status">{t('common.loading')}</p> : null) : (
        <Card title={t('money.history.results')}>
          <HistoryList items={items} language={language} byMonth />
          {cursor === null ? null : <Button variant="secondary" onClick={() => void more()}>{t('money.history.more')}</Button>}
        </Card>
      )}
    </MoneyPage>
  );
}

export function HistoryDetailPage(props: { transferId: string }) {
  const { t, language } = useI18n();
  const counterparty = useCounterparty();
  const [item, setItem] = useState<HistoryItem | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api<HistoryItem>('GET', `/v1/wallet/history/${encodeURIComponent(props.transferId)}`).then((answer) => { if (live) setItem(answer); }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [props.transferId]);
  return (
    <MoneyPage title={t('money.detail.title')} back="/history">
      {item === null ? (error === null ? <p role="status">{t('common.loading')}</p> : <Notice kind="error">{error}</Notice>) : (
        <Card>
          <p className={`balance amount ${item.direction}`}>{signed(item, language)}</p>
          <dl className="detail-list">
            <dt>{t('money.detail.kind')}</dt><dd>{t(`money.kind.${item.kind}`)}</dd>
            <dt>{item.fundingSource !== null ? t('money.detail.source') : t('money.detail.where')}</dt><dd>{counterparty(item)}</dd>
            {item.orderDescription === null ? null : <><dt>{t('money.detail.description')}</dt><dd>{item.orderDescription}</dd></>}
            <dt>{t('money.detail.when')}</dt><dd>{formatWhen(item.at, language)}</dd>
            <dt>{t('money.detail.status')}</dt><dd>{t(`money.status.${item.status}`) === `money.status.${item.status}` ? item.status : t(`money.status.${item.status}`)}</dd>
            <dt>{t('money.detail.transferId')}</dt><dd className="id-text">{item.transferId}</dd>
            {item.paymentId === null ? null : <><dt>{t('money.detail.paymentId')}</dt><dd className="id-text">{item.paymentId}</dd></>}
            {item.refundId === null ? null : <><dt>{t('money.detail.refundId')}</dt><dd className="id-text">{item.refundId}</dd></>}
            {item.topUpId === null ? null : <><dt>{t('money.detail.topUpId')}</dt><dd className="id-text">{item.topUpId}</dd></>}
            {item.reference === null ? null : <><dt>{t('money.detail.reference')}</dt><dd className="id-text">{item.reference}</dd></>}
          </dl>
        </Card>
      )}
    </MoneyPage>
  );
}

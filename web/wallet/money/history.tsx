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
  /** Merchant and store said once ("Koban Mart Shibuya"), from the server. */
  placeName: string | null;
  orderDescription: string | null;
  /** The short receipt number ("839A-7427"); never a raw id on screen. */
  receiptNumber: string;
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
    if (item.placeName !== null) return item.placeName;
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

interface Linked { transferId: string; receiptNumber: string; amount: string }
interface Receipt extends HistoryItem {
  links: { original: Linked | null; returns: Array<Linked & { kind: 'refund' | 'cancel'; at: string }>; net: string } | null;
}

/** A movement's receipt: amount, where, when, a short receipt number, and for a payment what came back and what is left. */
export function HistoryDetailPage(props: { transferId: string }) {
  const { t } = useI18n();
  const [item, setItem] = useState<Receipt | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api<Receipt>('GET', `/v1/wallet/history/${encodeURIComponent(props.transferId)}`).then((answer) => { if (live) setItem(answer); }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [props.transferId]);
  return (
    <MoneyPage title={t('money.detail.title')} back="/history">
      {item === null ? (error === null ? <p role="status">{t('common.loading')}</p> : <Notice kind="error">{error}</Notice>) : <ReceiptCard item={item} />}
    </MoneyPage>
  );
}

function statusText(t: (key: string) => string, status: string): string {
  const text = t(`money.status.${status}`);
  return text === `money.status.${status}` ? status : text;
}

function ReceiptCard(props: { item: Receipt }) {
  const { t, language } = useI18n();
  const counterparty = useCounterparty();
  const { item } = props;
  const links = item.links;
  return (
    <Card>
      <p className={`balance amount ${item.direction}`} data-testid="receipt-amount">{signed(item, language)}</p>
      <dl className="detail-list">
        <dt>{t('money.detail.receiptNumber')}</dt><dd className="receipt-number" data-testid="receipt-number">{item.receiptNumber}</dd>
        <dt>{t('money.detail.kind')}</dt><dd>{t(`money.kind.${item.kind}`)}</dd>
        <dt>{item.fundingSource !== null ? t('money.detail.source') : t('money.detail.where')}</dt><dd>{counterparty(item)}</dd>
        {item.orderDescription === null ? null : <><dt>{t('money.detail.description')}</dt><dd>{item.orderDescription}</dd></>}
        <dt>{t('money.detail.when')}</dt><dd>{formatWhen(item.at, language)}</dd>
        <dt>{t('money.detail.status')}</dt><dd>{statusText(t, item.status)}</dd>
      </dl>
      {links === null ? null : (
        <section className="receipt-links" aria-label={t('money.detail.linked')}>
          {links.original === null ? null : (
            <p>{t('money.detail.original')}{' '}
              <Link to={`/history/${links.original.transferId}`}>{t('money.detail.receiptLink', { number: links.original.receiptNumber, amount: formatYen(links.original.amount, language) })}</Link>
            </p>
          )}
          {links.returns.length === 0 ? null : (
            <>
              <h3 className="receipt-links-heading">{t('money.detail.returns')}</h3>
              <ul className="money-list" data-testid="receipt-returns">
                {links.returns.map((back) => (
                  <li key={back.transferId}>
                    <Link to={`/history/${back.transferId}`} className="history-row">
                      <span className="history-main">
                        <span className="item-title">{t(back.kind === 'cancel' ? 'money.detail.cancel' : 'money.kind.refund')}</span>
                        <span className="meta">{back.receiptNumber} · {formatWhen(back.at, language)}</span>
                      </span>
                      <span className="amount in">+{formatYen(back.amount, language)}</span>
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          )}
          {links.returns.length === 0 && links.original === null ? null : (
            <p className="receipt-net"><span>{t('money.detail.net')}</span> <strong data-testid="receipt-net">{formatYen(links.net, language)}</strong></p>
          )}
        </section>
      )}
    </Card>
  );
}

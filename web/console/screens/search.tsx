/** One search box: customers, merchants and transactions, with typed results. The query is in the URL. */
import { useState, type FormEvent } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field } from '../../shared/ui.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Loading, Pill, useLoad } from '../common.tsx';

interface Hit { kind: 'customer' | 'merchant' | 'payment' | 'top_up' | 'transfer'; id: string; title: string; detail: string; customerId: string | null; merchantId: string | null }

export function SearchScreen() {
  const { t } = useI18n();
  const router = useRouter();
  const q = router.query.get('q') ?? '';
  const [text, setText] = useState(q);
  const loaded = useLoad<{ results: Hit[] }>(q === '' ? null : `/v1/ops/search?q=${encodeURIComponent(q)}`);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() !== '') router.navigate(`/search?q=${encodeURIComponent(text.trim())}`);
  };
  return (
    <>
      <h2 className="screen-title">{t('nav.search')}</h2>
      <Card>
        <form onSubmit={submit} role="search" className="search-form">
          <Field label={t('search.label')} type="search" value={text} onChange={(e) => setText(e.target.value)} hint={t('search.hint')} maxLength={200} />
          <Button type="submit">{t('search.submit')}</Button>
        </form>
      </Card>
      {q === '' ? null : loaded.data === null ? <Loading loaded={loaded} /> : (
        <Card title={t('search.results', { n: loaded.data.results.length })}>
          {loaded.data.results.length === 0 ? <p className="hint">{t('search.nothing')}</p> : (
            <ul className="results">
              {loaded.data.results.map((hit) => <li key={`${hit.kind}-${hit.id}`}><Result hit={hit} /></li>)}
            </ul>
          )}
        </Card>
      )}
    </>
  );
}

function Result(props: { hit: Hit }) {
  const { t } = useI18n();
  const { hit } = props;
  const money = hit.kind === 'payment' || hit.kind === 'top_up' || hit.kind === 'transfer';
  const title = money ? `¥${hit.title.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}` : hit.title;
  return (
    <div className="result">
      <Pill>{t(`search.kind.${hit.kind}`)}</Pill>
      <div className="result-body">
        <strong>{title}</strong>
        <span className="hint">{hit.detail} · <code className="id">{hit.id}</code></span>
        <span className="row-links">
          {hit.customerId ? <Link to={`/customers/${hit.customerId}`}>{t('search.openCustomer')}</Link> : null}
          {hit.merchantId ? <Link to={`/merchants/${hit.merchantId}`}>{t('search.openMerchant')}</Link> : null}
        </span>
      </div>
    </div>
  );
}

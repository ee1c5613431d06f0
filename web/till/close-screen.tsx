/** The daily close (Z-report): today's totals, closed once; afterwards the recorded report. */
import { useCallback, useEffect, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { Button, Card, Notice } from '../shared/ui.tsx';
import { dailyCsv, downloadCsv } from './export.ts';
import { shownStatus, TotalsCard } from './sales-screen.tsx';
import { reasonKey, tillApi, type DayClose, type Sales } from './till-api.ts';

export function CloseScreen(props: { onClosed(): void }) {
  const { t, language } = useI18n();
  const [sales, setSales] = useState<Sales | null>(null);
  const [report, setReport] = useState<DayClose | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const fail = useCallback((failure: unknown) => {
    const found = reasonKey(failure, (k) => t(k) !== k);
    setError(t(found.key, { code: found.code }));
  }, [t]);
  useEffect(() => {
    tillApi.sales().then((loaded) => { setSales(loaded); setReport(loaded.close); }).catch(fail);
  }, [fail]);
  const close = async () => {
    try {
      setReport(await tillApi.close());
      setConfirming(false);
      props.onClosed();
    } catch (failure) {
      fail(failure);
    }
  };
  if (sales === null) return <Card>{error !== null ? <Notice kind="error">{error}</Notice> : <p role="status">{t('loading')}</p>}</Card>;
  const exportCsv = (
    <Button variant="secondary" onClick={() => downloadCsv(dailyCsv({ ...sales, close: report }, shownStatus), `koban-till-${sales.businessDate}.csv`)}>{t('close.csv')}</Button>
  );
  if (report !== null) {
    const time = new Date(report.closedAt).toLocaleTimeString(language === 'ja' ? 'ja-JP' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Tokyo' });
    return (
      <>
        <Notice kind="success">{t('close.done', { date: report.businessDate, time })}</Notice>
        <TotalsCard title={t('close.title')} totals={report.totals} />
        {exportCsv}
      </>
    );
  }
  return (
    <>
      <TotalsCard title={t('sales.title', { date: sales.businessDate })} totals={sales.totals} />
      <Card title={t('close.title')}>
        <p>{t('close.intro', { date: sales.businessDate })}</p>
        {error !== null ? <Notice kind="error">{error}</Notice> : null}
        {confirming ? (
          <>
            <p className="till-confirm" role="alert">{t('close.confirm')}</p>
            <div className="row till-actions">
              <Button variant="secondary" onClick={() => setConfirming(false)}>{t('sales.back')}</Button>
              <Button variant="danger" onClick={() => void close()}>{t('sales.confirm')}</Button>
            </div>
          </>
        ) : <Button onClick={() => setConfirming(true)}>{t('close.submit')}</Button>}
      </Card>
      {exportCsv}
    </>
  );
}

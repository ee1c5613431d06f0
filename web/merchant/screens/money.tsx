/** Daily statements with fees and payout status, CSV per day, and sales by day. */
import { useI18n } from '../../shared/i18n.tsx';
import { Card } from '../../shared/ui.tsx';
import { BarChart, Loading, Money, Pill, Table, useLoad } from '../../console/common.tsx';

interface Statement { businessDate: string; gross: number; refunds: number; fees: number; net: number; payoutStatus: string; payoutAmount: number | null }
interface Day { date: string; storeName: string | null; count: number; gross: number; refunded: number }

const todayInJapan = (): string => new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);

export function MoneyScreen() {
  const { t } = useI18n();
  const statements = useLoad<{ statements: Statement[] }>('/v1/merchant/statements');
  const days = useLoad<{ days: Day[] }>('/v1/merchant/sales-by-day');
  const byDay = new Map<string, number>();
  for (const d of days.data?.days ?? []) byDay.set(d.date, (byDay.get(d.date) ?? 0) + d.gross - d.refunded);
  const today = todayInJapan();
  return (
    <>
      <Card title={t('money.chart')}>
        {days.data === null ? <Loading loaded={days} /> : <BarChart label={t('money.chart')} points={[...byDay].map(([date, value]) => ({ key: date, value, label: date }))} />}
        <p><a className="button secondary" href={`/v1/merchant/statements/${today}/csv`} download={`koban-statement-${today}.csv`} data-testid="today-csv">{t('money.todayCsv')}</a></p>
      </Card>
      <Card title={t('money.heading')}>
        {statements.data === null ? <Loading loaded={statements} /> : (
          <Table caption={t('money.heading')} head={[t('col.date'), t('col.gross'), t('col.refunds'), t('col.fees'), t('col.net'), t('col.payout'), '']} empty={statements.data.statements.length === 0}>
            {statements.data.statements.map((s) => (
              <tr key={s.businessDate}>
                <td>{s.businessDate}</td><td><Money minor={String(s.gross)} /></td><td><Money minor={String(s.refunds)} /></td><td><Money minor={String(s.fees)} /></td>
                <td><Money minor={String(s.net)} /></td>
                <td><Pill tone={s.payoutStatus === 'paid' || s.payoutStatus === 'instructed' ? 'ok' : s.payoutStatus === 'held' || s.payoutStatus === 'returned' || s.payoutStatus === 'rejected' ? 'bad' : 'muted'}>{s.payoutStatus}</Pill></td>
                <td><a href={`/v1/merchant/statements/${s.businessDate}/csv`} download>{t('money.csv')}</a></td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </>
  );
}

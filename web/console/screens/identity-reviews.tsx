/**
 * Identity verifications the eKYC provider could not decide (issue 19): the applicant's data and the
 * references of their document and selfie, oldest first. Approving or rejecting asks for a reason; the server
 * records the decision in the audit log. Only an approval opens the customer's funds-transfer balance.
 */
import { useI18n } from '../../shared/i18n.tsx';
import { Button } from '../../shared/ui.tsx';
import { ActionButton, ErrorNotice, Loading, Table, useLoad, useMorePages, When } from '../common.tsx';
import { ops } from '../session.tsx';

interface ReviewItem {
  applicationId: string; customerId: string; reason: string | null; submittedAt: string;
  fullName: string; dateOfBirth: string; address: string; documentRef: string; selfieRef: string;
}

export function IdentityReviewsScreen() {
  const { t } = useI18n();
  const loaded = useLoad<{ items: ReviewItem[]; nextAfter: string | null }>('/v1/ops/identity-verifications', 15_000);
  // A queue, oldest first: the later pages are the customers who have waited less.
  const later = useMorePages('/v1/ops/identity-verifications', loaded.data?.nextAfter, 'after',
    (page: { items: ReviewItem[]; nextAfter: string | null }) => ({ items: page.items, next: page.nextAfter }));
  const reload = () => { later.reset(); void loaded.reload(); };
  const review = (id: string, decision: 'approve' | 'reject') => (reason: string) =>
    ops('POST', `/v1/ops/identity-verifications/${encodeURIComponent(id)}/review`, { decision, reason });
  return (
    <>
      <h2 className="screen-title">{t('nav.identityReviews')}</h2>
      <p className="hint">{t('identityReviews.note')}</p>
      {loaded.data === null ? <Loading loaded={loaded} /> : (
        <Table caption={t('nav.identityReviews')} empty={loaded.data.items.length === 0}
          head={[t('col.when'), t('identityReviews.applicant'), t('identityReviews.documents'), t('identityReviews.providerReason'), t('identityReviews.decide')]}>
          {[...loaded.data.items, ...later.items].map((item) => (
            <tr key={item.applicationId} data-application={item.applicationId}>
              <td><When at={item.submittedAt} /></td>
              <td>{item.fullName}<br /><span className="hint">{item.dateOfBirth} · {item.address}</span></td>
              <td><code>{item.documentRef}</code><br /><code>{item.selfieRef}</code></td>
              <td>{item.reason ?? '—'}</td>
              <td>
                <ActionButton label={t('identityReviews.approve')} title={t('identityReviews.confirmApprove', { name: item.fullName })} needsReason
                  description={<p>{t('identityReviews.effectApprove')}</p>} run={review(item.applicationId, 'approve')} onDone={reload} />
                <ActionButton variant="danger" label={t('identityReviews.reject')} title={t('identityReviews.confirmReject', { name: item.fullName })} needsReason
                  run={review(item.applicationId, 'reject')} onDone={reload} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <ErrorNotice error={later.error} />
      {later.hasMore ? <Button variant="secondary" onClick={() => void later.more()}>{t('common.more')}</Button> : null}
    </>
  );
}

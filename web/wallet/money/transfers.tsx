/**
 * Sending money (to a phone number or Koban ID, with the charge PIN and a step-up bound to the amount and the
 * recipient's Koban ID), money sent to you (accept or decline), requesting money with a link, splitting a bill
 * (わりかん) with who-has-paid and reminders, paying a request, and withdrawing to your own bank account. Only the
 * funds-transfer balance moves here; the server decides every rule and these screens say what it answered.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { MoneyPage, newIntentKey } from './frame.tsx';
import { QrImage } from './pay.tsx';

interface Transfer { transferId: string; direction: 'sent' | 'received'; counterparty: string; amount: string; message: string; status: 'pending' | 'completed' | 'declined' | 'returned'; claimDeadline: string }
interface MoneyRequest { requestId: string; link: string; token: string; requester: string; payer: string | null; amount: string; message: string; status: 'open' | 'paid' | 'cancelled' }
interface Withdrawal { withdrawalId: string; status: 'processing' | 'completed' | 'failed'; amount: string; fee: string }
interface FundingSource { fundingSourceId: string; kind: 'card' | 'bank'; status: string; bankAccount: { accountNumberLast4: string | null } | null }

const AMOUNT = /^[1-9][0-9]{0,6}$/;

/** One idempotency key per intent: a retry after a lost answer gets the first attempt's outcome. */
function useIntentKey(prefix: string): (of: string) => string {
  const intent = useRef<{ key: string; of: string } | null>(null);
  return (of) => {
    if (intent.current?.of !== of) intent.current = { key: newIntentKey(prefix), of };
    return intent.current.key;
  };
}

export function SendPage() {
  const { t, language } = useI18n();
  const { query } = useRouter();
  const stepUp = useStepUp();
  const [to, setTo] = useState(query.get('to') ?? '');
  const [amount, setAmount] = useState('');
  const [message, setMessage] = useState('');
  const [pin, setPin] = useState('');
  const [mine, setMine] = useState<{ kobanId: string; link: string } | null>(null);
  const [sent, setSent] = useState<Transfer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const intentKey = useIntentKey('send');
  useEffect(() => { void api<{ kobanId: string; link: string }>('GET', '/v1/customer/koban-id').then(setMine, () => undefined); }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!AMOUNT.test(amount) || to.trim() === '') return;
    setError(null);
    try {
      const { kobanId } = await api<{ kobanId: string }>('GET', `/v1/customer/recipients?to=${encodeURIComponent(to.trim())}`);
      const grant = await stepUp({ action: 'send', params: { amountMinor: amount, recipient: kobanId }, summary: t('money.send.summary', { amount: formatYen(amount, language), to: kobanId }) });
      if (grant === null) return;
      setBusy(true);
      const transfer = await api<Transfer>('POST', '/v1/customer/transfers', { to: to.trim(), amount, message, pin }, { headers: { ...stepUpHeaders(grant), 'idempotency-key': intentKey(`${to}:${amount}:${message}`) } });
      setSent(transfer);
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <MoneyPage title={t('money.send.title')} back="/">
      {mine === null ? null : <Card title={t('money.send.myId')}><p className="koban-id">{mine.kobanId}</p><QrImage value={mine.link} label={t('money.send.qrAlt')} /><p className="hint">{mine.link}</p></Card>}
      {sent !== null ? (
        <Notice kind="success">{t(sent.status === 'completed' ? 'money.send.done' : 'money.send.waiting', { amount: formatYen(sent.amount, language), to: sent.counterparty })}</Notice>
      ) : (
        <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.send.title')}>
          <Field label={t('money.send.to')} hint={t('money.send.toHint')} value={to} onChange={(event) => setTo(event.target.value)} required />
          <Field label={t('money.send.amount')} inputMode="numeric" value={amount} onChange={(event) => setAmount(event.target.value.replace(/[^0-9]/g, ''))} required />
          <Field label={t('money.send.message')} maxLength={200} value={message} onChange={(event) => setMessage(event.target.value)} />
          <Field label={t('money.topUp.pin')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(event) => setPin(event.target.value.replace(/[^0-9]/g, ''))} required />
          <Button type="submit" disabled={busy || !AMOUNT.test(amount) || pin.length !== 6 || to.trim() === ''}>{t('money.send.submit')}</Button>
        </form>
      )}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      <div className="row">
        <Link to="/transfers" className="button secondary">{t('money.transfers.title')}</Link>
        <Link to="/split" className="button secondary">{t('money.split.title')}</Link>
        <Link to="/withdraw" className="button secondary">{t('money.withdraw.title')}</Link>
      </div>
    </MoneyPage>
  );
}

export function TransfersPage() {
  const { t, language } = useI18n();
  const [transfers, setTransfers] = useState<Transfer[] | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { void api<{ transfers: Transfer[] }>('GET', '/v1/customer/transfers').then((answer) => setTransfers(answer.transfers), (failure: unknown) => setError(problemText(t, failure))); }, [version]);
  async function act(id: string, action: 'accept' | 'decline') {
    setError(null);
    try {
      await api('POST', `/v1/customer/transfers/${id}/${action}`, {});
      setVersion((n) => n + 1);
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <MoneyPage title={t('money.transfers.title')} back="/send">
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      {transfers === null ? <p role="status">{t('common.loading')}</p> : transfers.length === 0 ? <p>{t('money.transfers.none')}</p> : (
        <ul className="transfer-list" aria-label={t('money.transfers.title')}>
          {transfers.map((transfer) => (
            <li key={transfer.transferId} className="card">
              <p>{t(`money.transfers.${transfer.direction}`, { amount: formatYen(transfer.amount, language), who: transfer.counterparty })}</p>
              <p className="hint">{t(`money.transfers.status.${transfer.status}`)}{transfer.message === '' ? '' : ` — ${transfer.message}`}</p>
              {transfer.direction === 'received' && transfer.status === 'pending' ? (
                <div className="row">
                  <Button onClick={() => void act(transfer.transferId, 'accept')}>{t('money.transfers.accept')}</Button>
                  <Button variant="secondary" onClick={() => void act(transfer.transferId, 'decline')}>{t('money.transfers.decline')}</Button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </MoneyPage>
  );
}

export function SplitPage() {
  const { t, language } = useI18n();
  const [total, setTotal] = useState('');
  const [message, setMessage] = useState('');
  const [people, setPeople] = useState('');
  const [includeMe, setIncludeMe] = useState(true);
  const [splitId, setSplitId] = useState<string | null>(null);
  const [status, setStatus] = useState<MoneyRequest[] | null>(null);
  const [requested, setRequested] = useState<MoneyRequest | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = async (id: string) => setStatus((await api<{ participants: MoneyRequest[] }>('GET', `/v1/customer/splits/${id}`)).participants);

  async function split(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const participants = people.split(/[\s,、]+/).map((p) => p.trim()).filter((p) => p !== '');
    try {
      const created = await api<{ splitId: string }>('POST', '/v1/customer/splits', { total, message, participants, includeMe });
      setSplitId(created.splitId);
      await refresh(created.splitId);
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  async function request() {
    setError(null);
    try {
      setRequested(await api<MoneyRequest>('POST', '/v1/customer/money-requests', { amount: total, message }));
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  async function remind(id: string) {
    try {
      const { reminded } = await api<{ reminded: number }>('POST', `/v1/customer/splits/${id}/remind`, {});
      setNotice(t('money.split.reminded', { count: String(reminded) }));
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <MoneyPage title={t('money.split.title')} back="/send">
      {splitId === null ? (
        <form className="card" onSubmit={(event) => void split(event)} aria-label={t('money.split.title')}>
          <Field label={t('money.split.total')} inputMode="numeric" value={total} onChange={(event) => setTotal(event.target.value.replace(/[^0-9]/g, ''))} required />
          <Field label={t('money.send.message')} maxLength={200} value={message} onChange={(event) => setMessage(event.target.value)} />
          <Field label={t('money.split.people')} hint={t('money.split.peopleHint')} value={people} onChange={(event) => setPeople(event.target.value)} />
          <label className="radio-row"><input type="checkbox" checked={includeMe} onChange={(event) => setIncludeMe(event.target.checked)} /> <span>{t('money.split.includeMe')}</span></label>
          <p className="hint">{t('money.split.rounding')}</p>
          <div className="row">
            <Button type="submit" disabled={!AMOUNT.test(total) || people.trim() === ''}>{t('money.split.submit')}</Button>
            <Button type="button" variant="secondary" disabled={!AMOUNT.test(total)} onClick={() => void request()}>{t('money.request.submit')}</Button>
          </div>
        </form>
      ) : (
        <Card title={t('money.split.status')}>
          <ul aria-label={t('money.split.status')}>
            {(status ?? []).map((r) => <li key={r.requestId}>{t('money.split.share', { who: r.payer ?? '', amount: formatYen(r.amount, language), status: t(`money.request.status.${r.status}`) })}</li>)}
          </ul>
          <div className="row">
            <Button variant="secondary" onClick={() => void refresh(splitId)}>{t('money.split.refresh')}</Button>
            <Button onClick={() => void remind(splitId)}>{t('money.split.remind')}</Button>
          </div>
        </Card>
      )}
      {requested === null ? null : <Card title={t('money.request.link')}><p className="hint" data-testid="request-link">{requested.link}</p></Card>}
      {notice === null ? null : <Notice kind="info">{notice}</Notice>}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </MoneyPage>
  );
}

export function PayRequestPage(props: { token: string }) {
  const { t, language } = useI18n();
  const stepUp = useStepUp();
  const [request, setRequest] = useState<MoneyRequest | null>(null);
  const [pin, setPin] = useState('');
  const [paid, setPaid] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const intentKey = useIntentKey('payreq');
  useEffect(() => { void api<MoneyRequest>('GET', `/v1/customer/money-requests/${encodeURIComponent(props.token)}`).then(setRequest, (failure: unknown) => setError(problemText(t, failure))); }, [props.token]);
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (request === null) return;
    setError(null);
    const grant = await stepUp({ action: 'send', params: { amountMinor: request.amount, recipient: request.requester }, summary: t('money.send.summary', { amount: formatYen(request.amount, language), to: request.requester }) });
    if (grant === null) return;
    try {
      await api('POST', `/v1/customer/money-requests/${encodeURIComponent(props.token)}/pay`, { pin }, { headers: { ...stepUpHeaders(grant), 'idempotency-key': intentKey(props.token) } });
      setPaid(true);
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <MoneyPage title={t('money.request.payTitle')} back="/">
      {request === null ? null : (
        <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.request.payTitle')}>
          <p>{t('money.request.asks', { who: request.requester, amount: formatYen(request.amount, language) })}{request.message === '' ? '' : ` — ${request.message}`}</p>
          {paid || request.status !== 'open' ? <Notice kind="success">{t('money.request.status.paid')}</Notice> : (
            <>
              <Field label={t('money.topUp.pin')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(event) => setPin(event.target.value.replace(/[^0-9]/g, ''))} required />
              <Button type="submit" disabled={pin.length !== 6}>{t('money.request.pay', { amount: formatYen(request.amount, language) })}</Button>
            </>
          )}
        </form>
      )}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </MoneyPage>
  );
}

export function WithdrawPage() {
  const { t, language } = useI18n();
  const stepUp = useStepUp();
  const [banks, setBanks] = useState<FundingSource[]>([]);
  const [chosen, setChosen] = useState('');
  const [amount, setAmount] = useState('');
  const [pin, setPin] = useState('');
  const [done, setDone] = useState<Withdrawal | null>(null);
  const [error, setError] = useState<string | null>(null);
  const intentKey = useIntentKey('withdraw');
  useEffect(() => {
    void api<{ fundingSources: FundingSource[] }>('GET', '/v1/customer/funding-sources').then((answer) => {
      const active = answer.fundingSources.filter((s) => s.kind === 'bank' && s.status === 'active');
      setBanks(active);
      setChosen(active[0]?.fundingSourceId ?? '');
    }, (failure: unknown) => setError(problemText(t, failure)));
  }, []);
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!AMOUNT.test(amount) || chosen === '') return;
    setError(null);
    const grant = await stepUp({ action: 'withdraw', params: { amountMinor: amount, fundingSourceId: chosen }, summary: formatYen(amount, language) });
    if (grant === null) return;
    try {
      setDone(await api<Withdrawal>('POST', '/v1/customer/withdrawals', { fundingSourceId: chosen, amount, pin }, { headers: { ...stepUpHeaders(grant), 'idempotency-key': intentKey(`${chosen}:${amount}`) } }));
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <MoneyPage title={t('money.withdraw.title')} back="/send">
      {done !== null ? <Notice kind="success">{t('money.withdraw.started', { amount: formatYen(done.amount, language), fee: formatYen(done.fee, language) })}</Notice>
        : banks.length === 0 ? <Notice kind="info">{t('money.withdraw.noBank')}</Notice> : (
          <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.withdraw.title')}>
            <fieldset className="source-choice">
              <legend>{t('money.withdraw.to')}</legend>
              {banks.map((bank) => (
                <label key={bank.fundingSourceId} className="radio-row">
                  <input type="radio" name="bank" checked={chosen === bank.fundingSourceId} onChange={() => setChosen(bank.fundingSourceId)} />
                  <span>{t('money.source.bank', { last4: bank.bankAccount?.accountNumberLast4 ?? '' })}</span>
                </label>
              ))}
            </fieldset>
            <Field label={t('money.send.amount')} inputMode="numeric" value={amount} onChange={(event) => setAmount(event.target.value.replace(/[^0-9]/g, ''))} required />
            <Field label={t('money.topUp.pin')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(event) => setPin(event.target.value.replace(/[^0-9]/g, ''))} required />
            <Button type="submit" disabled={!AMOUNT.test(amount) || pin.length !== 6}>{t('money.withdraw.submit')}</Button>
          </form>
        )}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </MoneyPage>
  );
}

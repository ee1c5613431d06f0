/**
 * Top up: choose or add a funding source (a card through the acquirer, with its 3-D Secure page when the
 * card needs one; a bank account under a direct-debit mandate the bank confirms with its own code), the
 * amount, the charge PIN and a step-up bound to exactly this amount and source. The wallet is credited only
 * when the provider confirms: the status screen shows processing until then, then succeeded or failed.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { MoneyPage, newIntentKey } from './frame.tsx';

interface FundingSource {
  fundingSourceId: string;
  kind: 'card' | 'bank';
  status: string;
  card: { brand: string | null; last4: string | null; threeDSecure: string | null; threeDSecureVerified: boolean } | null;
  bankAccount: { accountNumberLast4: string | null; bankCode: string | null } | null;
}
interface TopUp { topUpId: string; status: 'processing' | 'requires_action' | 'completed' | 'failed'; amount: string; challengeUrl: string | null; failureCode: string | null; kind: string }

/** One tap for the amounts people top up most (PayPay offers the same); any other amount can be typed. */
const TOP_UP_PRESETS = ['1000', '3000', '5000', '10000'] as const;
/** A top-up waits on the card network or the bank: allow it longer than an ordinary request. */
const TOP_UP_TIMEOUT_MS = 45_000;
const STATUS_RETRY_MS = 3_000;

function sourceLabel(t: (key: string, values?: Record<string, string>) => string, source: FundingSource): string {
  return source.kind === 'card'
    ? t('money.source.card', { brand: (source.card?.brand ?? '').toUpperCase(), last4: source.card?.last4 ?? '' })
    : t('money.source.bank', { last4: source.bankAccount?.accountNumberLast4 ?? '' });
}

export function TopUpPage() {
  const { t, language } = useI18n();
  const { navigate } = useRouter();
  const stepUp = useStepUp();
  const [sources, setSources] = useState<FundingSource[] | null>(null);
  const [version, setVersion] = useState(0);
  const [chosen, setChosen] = useState<string>('');
  const [adding, setAdding] = useState<'card' | 'bank' | null>(null);
  const [amount, setAmount] = useState('');
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // One idempotency key per intent (this source, this amount): a retry after a lost answer gets the
  // top-up the first attempt made instead of charging the card twice; a changed amount is a new intent.
  const intent = useRef<{ key: string; of: string } | null>(null);
  const intentKey = (of: string): string => {
    if (intent.current?.of !== of) intent.current = { key: newIntentKey('topup'), of };
    return intent.current.key;
  };
  useEffect(() => {
    let live = true;
    api<{ fundingSources: FundingSource[] }>('GET', '/v1/customer/funding-sources').then((answer) => {
      if (!live) return;
      setSources(answer.fundingSources);
      const active = answer.fundingSources.filter((s) => s.status === 'active');
      setChosen((current) => (active.some((s) => s.fundingSourceId === current) ? current : active[0]?.fundingSourceId ?? ''));
    }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [version]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!/^[1-9][0-9]{0,8}$/.test(amount) || chosen === '') return;
    setError(null);
    const grant = await stepUp({ action: 'top_up', params: { amountMinor: amount, fundingSourceId: chosen }, summary: formatYen(amount, language) });
    if (grant === null) return;
    setBusy(true);
    try {
      const topUp = await api<TopUp>('POST', '/v1/customer/top-ups', { fundingSourceId: chosen, amount, pin }, { headers: { ...stepUpHeaders(grant), 'idempotency-key': intentKey(`${chosen}:${amount}`) }, timeoutMs: TOP_UP_TIMEOUT_MS });
      // The card issuer's own page (3-D Secure): it sends the browser back to /wallet/top-up/{id}.
      if (topUp.status === 'requires_action' && topUp.challengeUrl !== null) location.assign(topUp.challengeUrl);
      else navigate(`/top-up/${topUp.topUpId}`);
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  const active = (sources ?? []).filter((s) => s.status === 'active');
  const pending = (sources ?? []).filter((s) => s.status === 'pending_confirmation');
  return (
    <MoneyPage title={t('money.topUp.title')} back="/">
      {sources === null ? (error === null ? <p role="status">{t('common.loading')}</p> : null) : (
        <>
          {pending.map((source) => <ConfirmBank key={source.fundingSourceId} source={source} onDone={() => setVersion((n) => n + 1)} />)}
          {active.length === 0 ? <Notice kind="info">{t('money.topUp.noSources')}</Notice> : (
            <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.topUp.formLabel')}>
              <fieldset className="source-choice">
                <legend>{t('money.topUp.source')}</legend>
                {active.map((source) => (
                  <label key={source.fundingSourceId} className="radio-row">
                    <input type="radio" name="source" value={source.fundingSourceId} checked={chosen === source.fundingSourceId} onChange={() => setChosen(source.fundingSourceId)} />
                    <span>{sourceLabel(t, source)}</span>
                  </label>
                ))}
              </fieldset>
              <fieldset className="amount-presets">
                <legend>{t('money.topUp.presets')}</legend>
                <div className="preset-row">
                  {TOP_UP_PRESETS.map((preset) => (
                    <button key={preset} type="button" className={`button preset ${amount === preset ? 'primary' : 'secondary'}`} aria-pressed={amount === preset} onClick={() => setAmount(preset)}>{formatYen(preset, language)}</button>
                  ))}
                </div>
              </fieldset>
              <Field label={t('money.topUp.amount')} hint={t('money.topUp.amountHint')} inputMode="numeric" value={amount} onChange={(event) => setAmount(event.target.value.replace(/[^0-9]/g, ''))} required />
              <Field label={t('money.topUp.pin')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(event) => setPin(event.target.value.replace(/[^0-9]/g, ''))} required />
              <Button type="submit" disabled={busy || !/^[1-9][0-9]{0,8}$/.test(amount) || pin.length !== 6}>{amount === '' ? t('money.topUp.submitEmpty') : t('money.topUp.submit', { amount: formatYen(amount, language) })}</Button>
            </form>
          )}
          {error === null ? null : <Notice kind="error">{error}</Notice>}
          <div className="row">
            <Button variant={adding === 'card' ? 'primary' : 'secondary'} onClick={() => setAdding(adding === 'card' ? null : 'card')}>{t('money.topUp.addCard')}</Button>
            <Button variant={adding === 'bank' ? 'primary' : 'secondary'} onClick={() => setAdding(adding === 'bank' ? null : 'bank')}>{t('money.topUp.addBank')}</Button>
          </div>
          <div className="row">
            <Link to="/top-up/cash" className="button secondary">{t('money.cash.title')}</Link>
            <Link to="/top-up/auto" className="button secondary">{t('money.auto.title')}</Link>
          </div>
          {adding === 'card' ? <AddCard onAdded={(id) => { setAdding(null); setChosen(id); setVersion((n) => n + 1); }} /> : null}
          {adding === 'bank' ? <AddBank onAdded={() => { setAdding(null); setVersion((n) => n + 1); }} /> : null}
        </>
      )}
    </MoneyPage>
  );
}

function AddCard(props: { onAdded(id: string): void }) {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const [card, setCard] = useState({ number: '', exp: '', cvv: '', holderName: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const exp = /^(0[1-9]|1[0-2])\/?([0-9]{2})$/.exec(card.exp);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const number = card.number.replace(/\s/g, '');
    if (exp === null || !/^[0-9]{12,19}$/.test(number)) { setError(t('money.card.invalid')); return; }
    setError(null);
    const grant = await stepUp({ action: 'add_funding_source', params: { kind: 'card', last4: number.slice(-4) }, summary: `•••• ${number.slice(-4)}` });
    if (grant === null) return;
    setBusy(true);
    try {
      const added = await api<FundingSource>('POST', '/v1/customer/funding-sources/cards',
        { number, expMonth: Number(exp[1]), expYear: 2000 + Number(exp[2]), cvv: card.cvv, holderName: card.holderName.trim() }, { headers: stepUpHeaders(grant) });
      props.onAdded(added.fundingSourceId);
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.topUp.addCard')}>
      <Field label={t('money.card.number')} inputMode="numeric" autoComplete="cc-number" value={card.number} onChange={(event) => setCard({ ...card, number: event.target.value })} required />
      <div className="row">
        <Field label={t('money.card.exp')} placeholder="MM/YY" autoComplete="cc-exp" value={card.exp} onChange={(event) => setCard({ ...card, exp: event.target.value })} required />
        <Field label={t('money.card.cvv')} inputMode="numeric" autoComplete="cc-csc" maxLength={4} value={card.cvv} onChange={(event) => setCard({ ...card, cvv: event.target.value })} required />
      </div>
      <Field label={t('money.card.holder')} autoComplete="cc-name" value={card.holderName} onChange={(event) => setCard({ ...card, holderName: event.target.value })} required />
      <p className="hint">{t('money.card.pciNote')}</p>
      <Button type="submit" disabled={busy}>{t('money.card.add')}</Button>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </form>
  );
}

function AddBank(props: { onAdded(): void }) {
  const { t } = useI18n();
  const stepUp = useStepUp();
  const [bank, setBank] = useState({ bankCode: '', branchCode: '', accountNumber: '', holderNameKana: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const grant = await stepUp({ action: 'add_funding_source', params: { kind: 'bank', last4: bank.accountNumber.slice(-4) }, summary: `•••${bank.accountNumber.slice(-4)}` });
    if (grant === null) return;
    setBusy(true);
    try {
      await api('POST', '/v1/customer/funding-sources/bank-accounts', { ...bank, accountType: 'ordinary' }, { headers: stepUpHeaders(grant) });
      props.onAdded();
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }
  const set = (key: keyof typeof bank) => (event: { target: { value: string } }) => setBank({ ...bank, [key]: event.target.value });
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.topUp.addBank')}>
      <div className="row">
        <Field label={t('money.bank.code')} inputMode="numeric" maxLength={4} value={bank.bankCode} onChange={set('bankCode')} required />
        <Field label={t('money.bank.branch')} inputMode="numeric" maxLength={3} value={bank.branchCode} onChange={set('branchCode')} required />
      </div>
      <Field label={t('money.bank.account')} inputMode="numeric" maxLength={7} value={bank.accountNumber} onChange={set('accountNumber')} required />
      <Field label={t('money.bank.holder')} value={bank.holderNameKana} onChange={set('holderNameKana')} required />
      <Button type="submit" disabled={busy}>{t('money.bank.add')}</Button>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </form>
  );
}

/** A mandate waits for the code the bank sent the account holder; Koban only relays it. */
function ConfirmBank(props: { source: FundingSource; onDone(): void }) {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await api('POST', `/v1/customer/funding-sources/${props.source.fundingSourceId}/confirm`, { code });
      props.onDone();
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-label={t('money.bank.confirmTitle')}>
      <p>{t('money.bank.confirmBody', { last4: props.source.bankAccount?.accountNumberLast4 ?? '' })}</p>
      <Field label={t('money.bank.confirmCode')} inputMode="numeric" value={code} onChange={(event) => setCode(event.target.value)} required />
      <Button type="submit">{t('common.confirm')}</Button>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </form>
  );
}

/** One top-up's state, asked again every second until the provider has answered. */
export function TopUpStatusPage(props: { topUpId: string }) {
  const { t, language } = useI18n();
  const [topUp, setTopUp] = useState<TopUp | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const load = () => api<TopUp>('GET', `/v1/customer/top-ups/${encodeURIComponent(props.topUpId)}`).then((answer) => {
      if (!live) return;
      setTopUp(answer);
      setError(null);
      if (answer.status === 'processing' || answer.status === 'requires_action') timer = window.setTimeout(load, 1000);
    }, (failure: unknown) => {
      // Keep asking: the top-up goes on at the provider whether or not this screen hears about it.
      if (!live) return;
      setError(problemText(t, failure));
      timer = window.setTimeout(load, STATUS_RETRY_MS);
    });
    void load();
    return () => { live = false; window.clearTimeout(timer); };
  }, [props.topUpId]);
  return (
    <MoneyPage title={t('money.topUp.statusTitle')} back="/top-up">
      {topUp === null ? (error === null ? <p role="status">{t('common.loading')}</p> : <Notice kind="error">{error}</Notice>) : (
        <Card>
          {error === null ? null : <Notice kind="error">{error}</Notice>}
          <p className="balance">{formatYen(topUp.amount, language)}</p>
          <Notice kind={topUp.status === 'completed' ? 'success' : topUp.status === 'failed' ? 'error' : 'info'}>
            <strong data-testid="top-up-status">{t(`money.topUp.status.${topUp.status}`)}</strong>
            {topUp.status === 'failed' && topUp.failureCode !== null ? <span className="frozen-body">{t('money.topUp.failedBecause', { reason: topUp.failureCode })}</span> : null}
          </Notice>
          {topUp.status === 'requires_action' && topUp.challengeUrl !== null ? <a className="button primary" href={topUp.challengeUrl}>{t('money.topUp.continue3ds')}</a> : null}
          <Link to="/" className="button secondary">{t('money.pay.done')}</Link>
        </Card>
      )}
    </MoneyPage>
  );
}

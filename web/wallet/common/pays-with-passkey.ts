/**
 * Whether this customer pays with a passkey (issue 13; src/identity/payment-passkey.ts): then every code
 * shown, QR paid and waiting payment released is confirmed with the passkey, and never with the PIN. Read
 * once per screen from `/v1/customer/factors`; null while unknown.
 */
import { useEffect, useState } from 'react';
import { api } from '../../shared/api.ts';

export function usePaysWithPasskey(): boolean | null {
  const [pays, setPays] = useState<boolean | null>(null);
  useEffect(() => {
    let live = true;
    api<{ paysWithPasskey: boolean }>('GET', '/v1/customer/factors').then((factors) => { if (live) setPays(factors.paysWithPasskey); }, () => { if (live) setPays(false); });
    return () => { live = false; };
  }, []);
  return pays;
}

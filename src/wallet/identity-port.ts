/** The part of identity the wallet uses: the signed-in session, step-up, the recovery cool-down and the top-up gate. */
import type { Identity } from '../identity/identity.ts';
import type { Session } from '../identity/sessions/sessions.ts';

export type WalletIdentity = Pick<Identity, 'guard' | 'requireStepUp' | 'isInRecoveryCooldown' | 'authorizeTopUp' | 'authorizeSend' | 'authorizeWithdrawal'>;
export type WalletSession = Session;

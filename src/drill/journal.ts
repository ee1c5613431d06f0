/**
 * What happened, as the drill's own clients saw it: every action of an ordinary customer, the attacker
 * and the simulated operator, with the time, the account and the outcome (ok, or the code Koban
 * answered). The report is computed from this and from what the operator API says Koban decided.
 */
export type Actor = 'ordinary' | 'attacker' | 'operator';
export type Phase =
  | 'sign_in' | 'stuffing' | 'takeover' | 'card_add' | 'top_up' | 'code_mint' | 'payment' | 'freeze'
  | 'look' | 'copied_cookie' | 'recovery' | 'credential_change' | 'new_phone' | 'contain_merchant'
  // An owner confirming a held payment with their passkey; a thief trying to add their own passkey, or a `pay` step-up by SMS.
  | 'confirmation' | 'passkey_add' | 'pay_step_up';

/** The attack classes `koban drill --attack` knows (issue 13), each with its own victims. */
export const ATTACK_CLASSES = ['7pay', 'stuffing-slow', 'stolen-session', 'stolen-session-home', 'colluding-merchant', 'sim-swap'] as const;
export type AttackClass = typeof ATTACK_CLASSES[number];

export interface Act {
  readonly atMs: number;
  readonly actor: Actor;
  readonly phase: Phase;
  readonly accountId: string | null;
  readonly ok: boolean;
  /** `ok`, or what Koban answered: a problem code, an OPA result code, or a sign-in state. */
  readonly code: string;
  readonly amountMinor: number;
  /** The attack class an attacker's act belongs to (null for ordinary customers and the operator). */
  readonly attack: AttackClass | null;
}

export interface Journal {
  readonly acts: Act[];
  record(act: Omit<Act, 'atMs' | 'amountMinor' | 'attack'> & { amountMinor?: number; attack?: AttackClass | null }): void;
}

export function createJournal(): Journal {
  const acts: Act[] = [];
  return {
    acts,
    record(act) {
      acts.push({ atMs: Date.now(), amountMinor: 0, attack: null, ...act });
    },
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so one seed gives one drill plan. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

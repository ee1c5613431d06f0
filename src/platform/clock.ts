/**
 * Koban's one clock. Every decision that depends on the time (a window, an expiry, a business day) reads
 * it from the clock the composition root injects (`KobanOptions.clock`; tests pass their own), and an
 * instant it writes is compared later with the same clock, passed to SQL as a parameter, never with the
 * database's `now()`. (Timestamps that only record when a row was written may keep `default now()`.)
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

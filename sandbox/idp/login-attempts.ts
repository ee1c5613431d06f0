// Failed password attempts per interaction. After the limit the interaction ends with access_denied, so
// guessing needs a new authorization request (and a new uid) every few tries.
export const LOGIN_ATTEMPTS_MAX = 5;
// Bounded so a flood of interactions cannot grow the map without limit; the oldest entries go first.
export const TRACKED_INTERACTIONS_MAX = 10_000;

export type LoginAttempts = {
  recordFailure(uid: string): number;
  forget(uid: string): void;
};

export function createLoginAttempts(): LoginAttempts {
  const failures = new Map<string, number>();
  return {
    recordFailure(uid) {
      const count = (failures.get(uid) ?? 0) + 1;
      failures.delete(uid);
      failures.set(uid, count);
      if (failures.size > TRACKED_INTERACTIONS_MAX) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
      return count;
    },
    forget(uid) {
      failures.delete(uid);
    },
  };
}

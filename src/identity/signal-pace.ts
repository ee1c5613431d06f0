/**
 * At most one risk signal per customer per window (issue 13): a script retrying every second is one alert, not
 * hundreds. In memory, per process, bounded (the oldest entries go first); a restart may signal once more.
 */
export interface SignalPace {
  /** True when this customer's signal is due (and marks it sent); false within the window of the last one. */
  due(customerId: string): boolean;
}

export function createSignalPace(everyMs: number, rememberedMax: number, nowMs: () => number): SignalPace {
  const signalled = new Map<string, number>();
  return {
    due(customerId) {
      const now = nowMs();
      const last = signalled.get(customerId);
      if (last !== undefined && now - last < everyMs) return false;
      signalled.delete(customerId);
      signalled.set(customerId, now);
      if (signalled.size > rememberedMax) signalled.delete(signalled.keys().next().value as string);
      return true;
    },
  };
}

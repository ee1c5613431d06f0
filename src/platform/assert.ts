/**
 * Invariant assertions (TigerBeetle style). A failed assertion is a bug in Koban, never a user error:
 * it throws `AssertionFailed`, which the HTTP layer reports as a 500 and the ledger never catches.
 */
export class AssertionFailed extends Error {
  override readonly name = 'AssertionFailed';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionFailed(`${message}: ${String(value)}`);
}

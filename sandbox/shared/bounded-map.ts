import { SandboxError } from './errors.ts';

export type WhenFull = 'reject' | 'evict_oldest';

/**
 * An in-memory collection with a hard size limit. Business records ('reject') refuse new entries when full:
 * silently dropping an authorisation would break its invariants. Logs such as webhook events
 * ('evict_oldest') drop their oldest entry instead.
 */
export class BoundedMap<V> {
  readonly #entries = new Map<string, V>();
  readonly #name: string;
  readonly #capacity: number;
  readonly #whenFull: WhenFull;

  constructor(name: string, capacity: number, whenFull: WhenFull) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`${name}: capacity must be a positive integer`);
    this.#name = name;
    this.#capacity = capacity;
    this.#whenFull = whenFull;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): V | undefined {
    return this.#entries.get(id);
  }

  set(id: string, value: V): void {
    if (!this.#entries.has(id) && this.#entries.size >= this.#capacity) this.#makeRoom();
    this.#entries.set(id, value);
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  // Insertion order, oldest first: callers that prune by age can stop at the first young entry.
  entries(): IterableIterator<[string, V]> {
    return this.#entries.entries();
  }

  #makeRoom(): void {
    if (this.#whenFull === 'reject') {
      throw new SandboxError(503, 'api_error', 'sandbox_capacity_exceeded', `The sandbox ${this.#name} store is full; restart the sandbox.`);
    }
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

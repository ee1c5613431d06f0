import { randomBytes } from 'node:crypto';

const ID_RANDOM_BYTES = 12;

// Ids are random (unguessable: a challenge id is also the capability to answer that challenge); behaviour
// never depends on them, so the sandboxes stay deterministic for a given sequence of requests.
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(ID_RANDOM_BYTES).toString('base64url')}`;
}

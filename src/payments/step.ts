/**
 * The shape of the payment pipeline (pipeline.ts): an ordered table of small named steps over one
 * attempt, the way oidc-provider composes its checks. A step refuses by throwing the outcome's error
 * (outcomes.ts), answers early by returning the answer (a repeat is answered by the replay step), or
 * returns nothing and leaves what it learnt on the attempt for the steps after it.
 */
import { assert } from '../platform/assert.ts';
import type { PaymentsDeps } from './deps.ts';

export type StepResult<R> = R | undefined | void;

export interface Step<A, R> {
  readonly name: string;
  readonly run: (deps: PaymentsDeps, attempt: A) => StepResult<R> | Promise<StepResult<R>>;
}

/** A pipeline from `[name, run]` rows, read top to bottom. */
export function table<A, R>(rows: ReadonlyArray<readonly [name: string, run: Step<A, R>['run']]>): readonly Step<A, R>[] {
  return rows.map(([name, run]) => ({ name, run }));
}

/** Runs the steps in order until one answers; the last step always answers. */
export async function runSteps<A, R>(steps: readonly Step<A, R>[], deps: PaymentsDeps, attempt: A): Promise<R> {
  for (const { run } of steps) {
    const answer = await run(deps, attempt);
    if (answer !== undefined) return answer;
  }
  assert(false, 'a pipeline ends with a step that answers');
}

/** Runs a part of a pipeline: the steps in order until one answers; nothing when none does (the caller's table goes on). */
export async function runStepsUntilAnswer<A, R>(steps: readonly Step<A, R>[], deps: PaymentsDeps, attempt: A): Promise<R | undefined> {
  for (const { run } of steps) {
    const answer = await run(deps, attempt);
    if (answer !== undefined) return answer;
  }
  return undefined;
}

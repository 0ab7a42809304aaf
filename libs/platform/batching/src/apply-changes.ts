import type { BatchOutcome } from './group-commit';

export interface ChangeRequest<State, T> {
  id: string;
  change: (state: State) => T;
}

/**
 * The middle of a group-committed `update(id, change)`: applies a batch's changes to the states
 * loaded in its transaction, in queue order (several changes of one id see each other's result).
 * A change that throws, or whose id was not loaded, fails its own request only and changes nothing.
 * A transition that returns the same state and no events is no change. Returns each request's
 * outcome, the states to save (once each) and every change's events beside its request (for its
 * trace context).
 */
export function applyChanges<
  State,
  T extends { events: readonly unknown[] },
  R extends ChangeRequest<State, T>,
>(
  batch: R[],
  loaded: Map<string, State>,
  options: { stateOf(transition: T): State; notFound(id: string): unknown },
): {
  outcomes: Array<BatchOutcome<State>>;
  changed: Map<string, State>;
  published: Array<{ request: R; events: T['events'] }>;
} {
  const current = new Map(loaded);
  const changed = new Map<string, State>();
  const published: Array<{ request: R; events: T['events'] }> = [];
  const outcomes = batch.map((request): BatchOutcome<State> => {
    const state = current.get(request.id);
    if (state === undefined) return { error: options.notFound(request.id) };
    try {
      const transition = request.change(state);
      const next = options.stateOf(transition);
      if (next !== state || transition.events.length > 0) {
        current.set(request.id, next);
        changed.set(request.id, next);
        published.push({ request, events: transition.events });
      }
      return { value: next };
    } catch (error) {
      return { error };
    }
  });
  return { outcomes, changed, published };
}

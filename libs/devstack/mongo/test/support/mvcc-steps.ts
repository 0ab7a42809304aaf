/**
 * One random step of MVCC activity for the in-process engine tests: open a transaction (a reader or
 * writer that keeps an older snapshot), end one (commit or abort), write inside one, or write on
 * its own. A write that fails (write conflict, lock, duplicate key) aborts its unit. Thresholds are
 * cumulative probabilities of the first three; the rest writes outside transactions.
 */
import type { Engine } from '../../src/storage/engine';
import type { Transaction } from '../../src/transactions/transaction';

export interface StepOdds {
  open: number;
  end: number;
  writeInTransaction: number;
  maxOpen: number;
}

export function randomStep(
  engine: Engine,
  r: () => number,
  open: Transaction[],
  write: (unit: Transaction) => void,
  odds: StepOdds,
): void {
  const roll = r();
  if (roll < odds.open && open.length < odds.maxOpen) open.push(engine.begin(false));
  else if (roll < odds.end && open.length > 0) {
    const tx = open.splice(Math.floor(r() * open.length), 1)[0];
    if (r() < 0.5) engine.commit(tx);
    else engine.abort(tx, 'test');
  } else if (roll < odds.writeInTransaction && open.length > 0) {
    const tx = open[Math.floor(r() * open.length)];
    try {
      write(tx);
    } catch {
      engine.abort(tx, 'conflict');
      open.splice(open.indexOf(tx), 1);
    }
  } else {
    const unit = engine.begin(true);
    try {
      write(unit);
      engine.commit(unit);
    } catch {
      engine.abort(unit, 'locked');
    }
  }
}

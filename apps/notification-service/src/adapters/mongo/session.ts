import type { ClientSession } from 'mongodb';
import type { Tx } from '../../app/unit-of-work.port';

/** The MongoDB session behind an app-level Tx (this adapter created it). */
export function sessionOf(tx: Tx | undefined): ClientSession | undefined {
  return tx as unknown as ClientSession | undefined;
}

export function asTx(session: ClientSession): Tx {
  return session as unknown as Tx;
}

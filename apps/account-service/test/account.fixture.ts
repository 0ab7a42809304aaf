import { type Account, openAccount } from '../src/domain/account';

/** The time unit tests run at. */
export const testNow = new Date('2026-01-01T00:00:00Z');

/** An ACTIVE EUR account without overdraft holding `balance`, opened at testNow. */
export function testAccount(id: string, balance = 0n): Account {
  const opened = openAccount({
    id,
    ownerName: 'Ada',
    email: 'a@b.cd',
    currency: 'EUR',
    overdraftLimit: 0n,
    now: testNow,
  });
  return { ...opened, balance };
}

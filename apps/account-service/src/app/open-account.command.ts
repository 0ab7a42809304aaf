import { type Account, open } from '../domain/account';
import { newAccountId } from '../domain/ids';
import type { Money } from '../domain/money';
import { Violations } from '../domain/validation';
import type { AccountRepository } from './ports/account.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface OpenAccountCommand {
  ownerName: string;
  email: string;
  currencyCode: string;
  overdraftLimit: Money | undefined;
}

/** Opens an ACTIVE account with a zero balance and publishes AccountOpened. */
export class OpenAccount {
  constructor(
    private readonly deps: {
      accounts: AccountRepository;
      runtime: Runtime;
      maxAmountUnits: bigint;
    },
  ) {}

  async execute(cmd: OpenAccountCommand): Promise<Account> {
    const v = new Violations();
    v.ownerName('owner_name', cmd.ownerName);
    v.email('email', cmd.email);
    const currencyOk = v.currency('currency_code', cmd.currencyCode);
    const limit = cmd.overdraftLimit;
    if (limit) {
      if (v.currency('overdraft_limit.currency_code', limit.currency) && currencyOk) {
        if (limit.currency !== cmd.currencyCode) {
          v.add('overdraft_limit.currency_code', 'must equal currency_code');
        }
      }
      if (limit.units < 0n) v.add('overdraft_limit.units', 'must not be negative');
      else if (limit.units > this.deps.maxAmountUnits) {
        v.add('overdraft_limit.units', `must be at most ${this.deps.maxAmountUnits}`);
      }
    }
    v.throwIfAny();

    const { account, events } = open({
      id: newAccountId(),
      ownerName: cmd.ownerName,
      email: cmd.email,
      currency: cmd.currencyCode,
      overdraftLimit: limit?.units ?? 0n,
      now: this.deps.runtime.now(),
    });
    return this.deps.accounts.create(account, events);
  }
}

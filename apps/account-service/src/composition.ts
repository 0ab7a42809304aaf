import { accountV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { type RunningService, startService } from '@trellis/platform/runtime';
import { accountServiceHandler } from './adapters/grpc/account-service.handler';
import { MongoAccountStore } from './adapters/mongo/mongo-account.store';
import { CloseAccount } from './app/close-account.command';
import { DepositFunds } from './app/deposit-funds.command';
import { Postings } from './app/postings';
import { FreezeAccount } from './app/freeze-account.command';
import { GetAccount } from './app/get-account.query';
import { ListAccounts } from './app/list-accounts.query';
import { ListLedgerEntries } from './app/list-ledger-entries.query';
import { OpenAccount } from './app/open-account.command';
import { TransferFunds } from './app/transfer-funds.command';
import { UnfreezeAccount } from './app/unfreeze-account.command';
import { WithdrawFunds } from './app/withdraw-funds.command';
import type { AccountServiceConfig } from './config';

export const SERVICE_NAME = 'account-service';

export interface AccountServiceOptions {
  /** Tests pass a capturing logger. */
  logger?: Logger;
}

/** The account-service composition root: adapters, use cases and the gRPC service. */
export async function startAccountService(
  config: AccountServiceConfig,
  options: AccountServiceOptions = {},
): Promise<RunningService> {
  return startService({
    name: SERVICE_NAME,
    config,
    logger: options.logger,
    async register(ctx) {
      const store = new MongoAccountStore({
        client: ctx.mongo.client,
        db: ctx.mongo.db,
        outbox: ctx.outbox,
        relay: ctx.relay,
        idempotencyTtlSeconds: config.ACCOUNT_IDEMPOTENCY_TTL_SECONDS,
        metrics: ctx.metrics,
      });
      await store.ensureIndexes();
      const maxAmountUnits = config.ACCOUNT_MAX_AMOUNT_UNITS;
      const movement = {
        store,
        logger: ctx.logger.child({ component: 'audit' }),
        maxAmountUnits,
      };
      // Deposits and withdrawals share one batcher; TransferFunds has its own, whose batches never
      // touch an external account and so run beside these.
      const postings = new Postings({ store, logger: movement.logger });
      ctx.grpc.add(
        accountV1.AccountServiceDefinition,
        accountServiceHandler({
          openAccount: new OpenAccount({ store, maxAmountUnits }),
          getAccount: new GetAccount({ store }),
          listAccounts: new ListAccounts({ store }),
          depositFunds: new DepositFunds({ postings, maxAmountUnits }),
          withdrawFunds: new WithdrawFunds({ postings, maxAmountUnits }),
          transferFunds: new TransferFunds(movement),
          freezeAccount: new FreezeAccount({ store }),
          unfreezeAccount: new UnfreezeAccount({ store }),
          closeAccount: new CloseAccount({ store }),
          listLedgerEntries: new ListLedgerEntries({ store }),
        }),
      );
    },
  });
}

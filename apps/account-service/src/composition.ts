import { accountV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { type RunningService, startService } from '@trellis/platform/runtime';
import { accountServiceHandler } from './adapters/grpc/account.handler';
import { loggerAuditLog } from './adapters/logging/audit-log';
import { MongoAccountRepository } from './adapters/mongo/account.repository';
import { CloseAccount } from './app/close-account.command';
import { DepositFunds } from './app/deposit-funds.command';
import { FreezeAccount } from './app/freeze-account.command';
import { GetAccount } from './app/get-account.query';
import { ListAccounts } from './app/list-accounts.query';
import { ListLedgerEntries } from './app/list-ledger-entries.query';
import { OpenAccount } from './app/open-account.command';
import { systemRuntime } from './app/ports/runtime.port';
import { TransferFunds } from './app/transfer-funds.command';
import { UnfreezeAccount } from './app/unfreeze-account.command';
import type { AccountUseCases } from './app/use-cases';
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
      const accounts = new MongoAccountRepository({
        client: ctx.mongo.client,
        db: ctx.mongo.db,
        outbox: ctx.outbox,
        relay: ctx.relay,
        idempotencyTtlSeconds: config.ACCOUNT_IDEMPOTENCY_TTL_SECONDS,
        metrics: ctx.metrics,
      });
      await accounts.ensureIndexes();
      const maxAmountUnits = config.ACCOUNT_MAX_AMOUNT_UNITS;
      const runtime = systemRuntime;
      const money = {
        accounts,
        audit: loggerAuditLog(ctx.logger.child({ component: 'audit' })),
        maxAmountUnits,
      };
      const useCases: AccountUseCases = {
        openAccount: new OpenAccount({ accounts, runtime, maxAmountUnits }),
        getAccount: new GetAccount({ accounts }),
        listAccounts: new ListAccounts({ accounts }),
        depositFunds: new DepositFunds(money),
        withdrawFunds: new WithdrawFunds(money),
        transferFunds: new TransferFunds(money),
        freezeAccount: new FreezeAccount({ accounts, runtime }),
        unfreezeAccount: new UnfreezeAccount({ accounts, runtime }),
        closeAccount: new CloseAccount({ accounts, runtime }),
        listLedgerEntries: new ListLedgerEntries({ accounts }),
      };
      ctx.grpc.add(accountV1.AccountServiceDefinition, accountServiceHandler(useCases));
    },
  });
}

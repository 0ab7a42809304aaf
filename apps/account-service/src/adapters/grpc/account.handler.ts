import type { accountV1 } from '@trellis/contracts';
import type { AccountUseCases } from '../../app/use-cases';
import {
  accountToProto,
  entryToProto,
  moneyFromProto,
  statusFromProto,
  transactionToProto,
} from './account.mapper';

/** trellis.account.v1.AccountService: request → command/query → response, nothing more. */
export function accountServiceHandler(uc: AccountUseCases): accountV1.AccountServiceImplementation {
  return {
    async openAccount(req) {
      const account = await uc.openAccount.execute({
        ownerName: req.ownerName,
        email: req.email,
        currencyCode: req.currencyCode,
        overdraftLimit: moneyFromProto(req.overdraftLimit),
      });
      return { account: accountToProto(account) };
    },
    async getAccount(req) {
      return { account: accountToProto(await uc.getAccount.execute({ accountId: req.accountId })) };
    },
    async listAccounts(req) {
      const page = await uc.listAccounts.execute({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        status: statusFromProto(req.status),
        email: req.email,
      });
      return { accounts: page.accounts.map(accountToProto), nextPageToken: page.nextPageToken };
    },
    async deposit(req) {
      const { transaction } = await uc.depositFunds.execute({
        accountId: req.accountId,
        amount: moneyFromProto(req.amount),
        idempotencyKey: req.idempotencyKey,
        reference: req.reference,
      });
      return { transaction: transactionToProto(transaction) };
    },
    async withdraw(req) {
      const { transaction } = await uc.withdrawFunds.execute({
        accountId: req.accountId,
        amount: moneyFromProto(req.amount),
        idempotencyKey: req.idempotencyKey,
        reference: req.reference,
      });
      return { transaction: transactionToProto(transaction) };
    },
    async transfer(req) {
      const { transaction } = await uc.transferFunds.execute({
        fromAccountId: req.fromAccountId,
        toAccountId: req.toAccountId,
        amount: moneyFromProto(req.amount),
        idempotencyKey: req.idempotencyKey,
        reference: req.reference,
      });
      return { transaction: transactionToProto(transaction) };
    },
    async freezeAccount(req) {
      const account = await uc.freezeAccount.execute({
        accountId: req.accountId,
        reason: req.reason,
      });
      return { account: accountToProto(account) };
    },
    async unfreezeAccount(req) {
      const account = await uc.unfreezeAccount.execute({
        accountId: req.accountId,
        reason: req.reason,
      });
      return { account: accountToProto(account) };
    },
    async closeAccount(req) {
      const account = await uc.closeAccount.execute({
        accountId: req.accountId,
        reason: req.reason,
      });
      return { account: accountToProto(account) };
    },
    async listLedgerEntries(req) {
      const page = await uc.listLedgerEntries.execute({
        accountId: req.accountId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { entries: page.entries.map(entryToProto), nextPageToken: page.nextPageToken };
    },
  };
}

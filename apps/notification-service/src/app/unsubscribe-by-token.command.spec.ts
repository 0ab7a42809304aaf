import type { ListSuppression } from '../domain/list-suppression';
import type { Notification } from '../domain/notification';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import { KeyRing } from './support/key-ring';
import { UnsubscribeTokens } from './support/unsubscribe-token';
import { UnsubscribeByToken } from './unsubscribe-by-token.command';

class MemoryListSuppressions implements Pick<ListSuppressionStore, 'suppressForList'> {
  readonly entries: ListSuppression[] = [];
  async suppressForList(entry: ListSuppression) {
    if (await this.isSuppressedForList(entry.email, entry.list)) return { created: false };
    this.entries.push(entry);
    return { created: true };
  }
  async isSuppressedForList(email: string, list: string) {
    return this.entries.some((e) => e.email === email && e.list === list);
  }
}

const now = new Date('2026-12-01T00:00:00Z');
const annsMail = '0b6c9f52-3f7e-4c55-9d7a-3f0b1a2c4d5e';
/** Ann's mail: the token names it, never her address. */
const notifications = {
  findById: async (id: string) =>
    id === annsMail ? ({ id, recipient: 'ann@example.com' } as Notification) : undefined,
};
const tokens = new UnsubscribeTokens(KeyRing.parse('k1:first-secret-0123456789'), 86_400_000);

const useCaseAt = (store: MemoryListSuppressions, at: Date) =>
  new UnsubscribeByToken({
    tokens,
    listSuppressions: store,
    notifications,
    metrics: { unsubscribed: () => undefined },
    clock: () => at,
  });

describe('UnsubscribeByToken', () => {
  it('suppresses exactly the token’s address and list, with the source, once', async () => {
    const store = new MemoryListSuppressions();
    const useCase = useCaseAt(store, now);
    const token = tokens.issue(annsMail, 'newsletter', now);
    expect(await useCase.execute({ token, source: 'one-click' })).toEqual({
      ok: true,
      list: 'newsletter',
      created: true,
    });
    expect(await useCase.execute({ token, source: 'confirm-page' })).toMatchObject({
      created: false,
    });
    expect(store.entries).toEqual([
      { email: 'ann@example.com', list: 'newsletter', source: 'one-click', createdAt: now },
    ]);
  });

  it('writes nothing for a forged or expired token', async () => {
    const store = new MemoryListSuppressions();
    const later = new Date(now.getTime() + 86_400_000);
    const useCase = useCaseAt(store, later);
    const expired = tokens.issue(annsMail, 'newsletter', now);
    const forged = new UnsubscribeTokens(
      KeyRing.parse('k1:not-the-real-secret-000'),
      86_400_000,
    ).issue(annsMail, 'newsletter', later);
    expect(await useCase.execute({ token: expired, source: 'one-click' })).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(await useCase.execute({ token: forged, source: 'one-click' })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(useCase.preview(forged)).toMatchObject({ ok: false });
    expect(store.entries).toEqual([]);
  });

  it('writes nothing for a genuine token whose mail is unknown', async () => {
    const store = new MemoryListSuppressions();
    const useCase = useCaseAt(store, now);
    const token = tokens.issue('ffffffff-3f7e-4c55-9d7a-3f0b1a2c4d5e', 'newsletter', now);
    expect(await useCase.execute({ token, source: 'one-click' })).toEqual({
      ok: false,
      reason: 'unknown-notification',
    });
    expect(store.entries).toEqual([]);
  });
});

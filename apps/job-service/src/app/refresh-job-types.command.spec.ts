import { JobTypeRegistry, DEFAULT_JOB_TYPES } from '../domain/job-type';
import type { JobTypeRepository, StoredJobType } from './ports/job-type.repository.port';
import { RefreshJobTypes } from './refresh-job-types.command';

const stored = (name: string, pattern: string, revision: number): StoredJobType => ({
  ...DEFAULT_JOB_TYPES[0],
  name,
  payloadSchema: { type: 'object', properties: { s: { type: 'string', pattern } } },
  source: 'api',
  revision,
  updatedAt: new Date(0),
});

describe('RefreshJobTypes', () => {
  it('applies every stored type it can compile and reports, without throwing, one it cannot', async () => {
    // A lookahead pattern stored before patterns ran on RE2.
    const catalog = {
      changedSince: async () => ({
        types: [stored('old.lookahead', '^(?=a)a$', 7), stored('still.fine', '^a+$', 8)],
        revision: 8,
      }),
    } as unknown as JobTypeRepository;
    const types = new JobTypeRegistry([]);
    const unusable: string[] = [];
    const refresh = new RefreshJobTypes({
      catalog,
      types,
      onUnusable: (name) => unusable.push(name),
    });
    await expect(refresh.execute()).resolves.toBe(2);
    expect(unusable).toEqual(['old.lookahead']);
    expect(types.has('still.fine')).toBe(true);
    expect(types.has('old.lookahead')).toBe(false);
  });
});

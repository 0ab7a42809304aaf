import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { Suppression } from '../domain/suppression';
import type { SuppressionRepository } from './ports/suppression.repository.port';

export interface ListSuppressionsDeps {
  suppressions: SuppressionRepository;
}

export class ListSuppressions {
  constructor(private readonly deps: ListSuppressionsDeps) {}

  async execute(input: { pageSize: number; pageToken: string }): Promise<Page<Suppression>> {
    const limit = pageSize(input.pageSize);
    const after = decodePageToken(input.pageToken, 'suppressions');
    const rows = await this.deps.suppressions.list(after ? String(after[0]) : undefined, limit + 1);
    return toPage(rows, limit, (s) => [s.email], 'suppressions');
  }
}

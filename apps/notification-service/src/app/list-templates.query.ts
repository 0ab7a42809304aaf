import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { Template } from '../domain/template';
import type { TemplateRepository } from './ports/template.repository.port';

export interface ListTemplatesDeps {
  templates: TemplateRepository;
}

export class ListTemplates {
  constructor(private readonly deps: ListTemplatesDeps) {}

  async execute(input: { pageSize: number; pageToken: string }): Promise<Page<Template>> {
    const limit = pageSize(input.pageSize);
    const after = decodePageToken(input.pageToken, 'templates');
    const rows = await this.deps.templates.list(after ? String(after[0]) : undefined, limit + 1);
    return toPage(rows, limit, (t) => [t.id], 'templates');
  }
}

import type { Template } from '../../domain/template';

export interface TemplateRepository {
  /** Inserts version 1; false if the id is taken. */
  create(template: Template): Promise<boolean>;
  /** Inserts `next` if the latest version is still `next.version - 1`; false otherwise. */
  addVersion(next: Template): Promise<boolean>;
  latest(id: string): Promise<Template | undefined>;
  version(id: string, version: number): Promise<Template | undefined>;
  /** Latest versions ordered by id, after `afterId`. */
  list(afterId: string | undefined, limit: number): Promise<Template[]>;
}

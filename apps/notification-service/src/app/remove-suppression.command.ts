import { normalizeEmail } from '../domain/email-address';
import { notFound } from '../domain/errors';
import type { SuppressionRepository } from './ports/suppression.repository.port';

export interface RemoveSuppressionDeps {
  suppressions: SuppressionRepository;
}

export class RemoveSuppression {
  constructor(private readonly deps: RemoveSuppressionDeps) {}

  async execute(input: { email: string }): Promise<void> {
    const email = normalizeEmail(input.email, 'email');
    if (!(await this.deps.suppressions.remove(email))) throw notFound('suppression', email);
  }
}

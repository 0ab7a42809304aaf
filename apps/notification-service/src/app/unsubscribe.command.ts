import { ValidationError } from '@trellis/platform/errors';
import { normalizeEmail } from '../domain/email-address';
import type { Suppression, SuppressionReason } from '../domain/suppression';
import type { DeliverabilityMetrics } from './ports/deliverability-metrics.port';
import type { Runtime } from './ports/runtime.port';
import type { SuppressionRepository } from './ports/suppression.repository.port';

export interface UnsubscribeDeps {
  suppressions: SuppressionRepository;
  runtime: Runtime;
  metrics: Pick<DeliverabilityMetrics, 'unsubscribed'>;
}

/** Suppresses an address; an already suppressed one returns its existing suppression. */
export class Unsubscribe {
  constructor(private readonly deps: UnsubscribeDeps) {}

  async execute(input: {
    email: string;
    reason: SuppressionReason;
    comment: string;
  }): Promise<Suppression> {
    const email = normalizeEmail(input.email, 'email');
    if (input.comment.length > 512)
      throw ValidationError.field('comment', 'must be at most 512 characters');
    const { suppression, created } = await this.deps.suppressions.insertIfAbsent({
      email,
      reason: input.reason,
      comment: input.comment,
      createdAt: this.deps.runtime.now(),
    });
    if (created && input.reason === 'UNSUBSCRIBED') this.deps.metrics.unsubscribed('api');
    return suppression;
  }
}

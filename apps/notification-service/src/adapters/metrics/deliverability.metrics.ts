import { Counter, type Registry } from 'prom-client';
import type {
  DeliverabilityMetrics,
  UnsubscribeOrigin,
} from '../../app/ports/deliverability-metrics.port';
import type { BounceRecord, ComplaintRecord } from '../../domain/delivery-report';

/**
 * `notification_bounces_total{kind,source}`, `notification_complaints_total{source}`,
 * `notification_unsubscribes_total{source}` on the service's /metrics.
 */
export class PrometheusDeliverabilityMetrics implements DeliverabilityMetrics {
  private readonly bounces: Counter<'kind' | 'source'>;
  private readonly complaints: Counter<'source'>;
  private readonly unsubscribes: Counter<'source'>;

  constructor(registry: Registry) {
    this.bounces = new Counter({
      name: 'notification_bounces_total',
      help: 'Bounces recorded, by kind (hard, soft) and source (smtp reply, dsn, webhook)',
      labelNames: ['kind', 'source'],
      registers: [registry],
    });
    this.complaints = new Counter({
      name: 'notification_complaints_total',
      help: 'Spam complaints recorded, by source (arf, webhook)',
      labelNames: ['source'],
      registers: [registry],
    });
    this.unsubscribes = new Counter({
      name: 'notification_unsubscribes_total',
      help: 'Opt-outs recorded, by source (one-click, confirm-page, mailto, directory, api)',
      labelNames: ['source'],
      registers: [registry],
    });
  }

  bounced(kind: BounceRecord['kind'], source: BounceRecord['source']): void {
    this.bounces.inc({ kind, source });
  }

  complained(source: ComplaintRecord['source']): void {
    this.complaints.inc({ source });
  }

  unsubscribed(source: UnsubscribeOrigin): void {
    this.unsubscribes.inc({ source });
  }
}

import { Registry } from 'prom-client';
import { PrometheusDeliverabilityMetrics } from './deliverability.metrics';

it('counts bounces by kind and source, complaints and unsubscribes by source', async () => {
  const registry = new Registry();
  const metrics = new PrometheusDeliverabilityMetrics(registry);
  metrics.bounced('hard', 'dsn');
  metrics.bounced('hard', 'dsn');
  metrics.bounced('soft', 'webhook');
  metrics.complained('webhook');
  metrics.unsubscribed('one-click');
  const text = await registry.metrics();
  expect(text).toContain('notification_bounces_total{kind="hard",source="dsn"} 2');
  expect(text).toContain('notification_bounces_total{kind="soft",source="webhook"} 1');
  expect(text).toContain('notification_complaints_total{source="webhook"} 1');
  expect(text).toContain('notification_unsubscribes_total{source="one-click"} 1');
});

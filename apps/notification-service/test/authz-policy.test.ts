import { notificationV1 } from '@trellis/contracts';
import { isAllowed } from '@trellis/platform/grpc';
import { DEFAULT_AUTHZ_POLICY, loadServiceConfig } from '../src/config';

const SERVICE = 'trellis.notification.v1.NotificationService';
const path = (method: string) => `/${SERVICE}/${method}`;
const methods = Object.values(notificationV1.NotificationServiceDefinition.methods).map(
  (m) => m.name,
);
const SEND = [
  'GetNotification',
  'GetTemplate',
  'ListTemplates',
  'RenderTemplate',
  'SendEmail',
  'Unsubscribe',
];

describe('notification-service default AUTHZ_POLICY', () => {
  it('is what the service runs with when AUTHZ_POLICY is unset, and names every method without wildcards', () => {
    expect(loadServiceConfig({}).AUTHZ_POLICY).toEqual(DEFAULT_AUTHZ_POLICY);
    expect(Object.keys(DEFAULT_AUTHZ_POLICY).sort()).toEqual(
      methods.map((m) => `${SERVICE}/${m}`).sort(),
    );
    for (const callers of Object.values(DEFAULT_AUTHZ_POLICY)) expect(callers).not.toContain('*');
  });

  it('services send mail; only the admin identity administers templates, contacts, suppressions and campaigns', () => {
    for (const method of methods)
      expect(isAllowed(DEFAULT_AUTHZ_POLICY, path(method), 'admin')).toBe(true);
    for (const service of ['account-service', 'job-service']) {
      const allowed = methods.filter((m) => isAllowed(DEFAULT_AUTHZ_POLICY, path(m), service));
      expect([service, allowed.sort()]).toEqual([service, [...SEND].sort()]);
    }
    for (const method of ['RemoveSuppression', 'CreateTemplate', 'StartCampaign', 'ListContacts'])
      expect(isAllowed(DEFAULT_AUTHZ_POLICY, path(method), 'account-service')).toBe(false);
  });

  it('refuses identities with no business here', () => {
    for (const method of methods) {
      for (const identity of ['notification-service', 'unknown-service'])
        expect([method, identity, isAllowed(DEFAULT_AUTHZ_POLICY, path(method), identity)]).toEqual(
          [method, identity, false],
        );
    }
  });
});

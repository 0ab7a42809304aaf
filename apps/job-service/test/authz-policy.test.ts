import { jobV1 } from '@trellis/contracts';
import { isAllowed } from '@trellis/platform/grpc';
import { DEFAULT_AUTHZ_POLICY, loadServiceConfig } from '../src/config';

const path = (method: string) => `/trellis.job.v1.JobService/${method}`;
const methods = Object.values(jobV1.JobServiceDefinition.methods).map((m) => m.name);

describe('job-service default AUTHZ_POLICY', () => {
  it('is what the service runs with when AUTHZ_POLICY is unset, and names every method without wildcards', () => {
    expect(loadServiceConfig({}).AUTHZ_POLICY).toEqual(DEFAULT_AUTHZ_POLICY);
    expect(Object.keys(DEFAULT_AUTHZ_POLICY).sort()).toEqual(
      methods.map((m) => `trellis.job.v1.JobService/${m}`).sort(),
    );
    for (const callers of Object.values(DEFAULT_AUTHZ_POLICY)) expect(callers).not.toContain('*');
  });

  it('the admin identity administers everything; the notification-service enqueues and works jobs', () => {
    for (const method of methods)
      expect(isAllowed(DEFAULT_AUTHZ_POLICY, path(method), 'admin')).toBe(true);
    const worker = methods.filter((m) =>
      isAllowed(DEFAULT_AUTHZ_POLICY, path(m), 'notification-service'),
    );
    expect(worker.sort()).toEqual(
      [
        'AppendJobLogs',
        'CancelJob',
        'ClaimJobs',
        'CompleteJob',
        'CompleteJobs',
        'CreateJob',
        'CreateJobs',
        'FailJob',
        'HeartbeatJob',
      ].sort(),
    );
  });

  it('refuses identities with no business here, e.g. the account-service claiming or cancelling jobs', () => {
    for (const method of methods) {
      expect([method, isAllowed(DEFAULT_AUTHZ_POLICY, path(method), 'account-service')]).toEqual([
        method,
        false,
      ]);
      expect([method, isAllowed(DEFAULT_AUTHZ_POLICY, path(method), 'unknown-service')]).toEqual([
        method,
        false,
      ]);
    }
  });
});

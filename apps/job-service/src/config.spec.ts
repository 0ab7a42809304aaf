import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServiceConfig } from './config';

describe('job-service config', () => {
  it('declares email.campaign and demo.echo by default, on port 50052', () => {
    const config = loadServiceConfig({});
    expect(config.GRPC_PORT).toBe(50052);
    expect(config.METRICS_PORT).toBe(9465);
    expect(config.JOB_TYPES.map((t) => t.name)).toEqual(['email.campaign', 'demo.echo']);
  });

  it('reads JOB_TYPES from JSON, filling defaults, or from JOB_TYPES_FILE', () => {
    const json = JSON.stringify([
      { name: 'a.b', lease_seconds: 2, backoff: { initial_delay_seconds: 0.5, jitter: 0 } },
    ]);
    const [type] = loadServiceConfig({ JOB_TYPES: json }).JOB_TYPES;
    expect(type).toMatchObject({
      name: 'a.b',
      defaultLeaseMs: 2000,
      defaultMaxAttempts: 5,
      maxPayloadBytes: 256 * 1024,
      defaultBackoff: { initialDelayMs: 500, maxDelayMs: 600_000, multiplier: 2, jitter: 0 },
    });
    const dir = mkdtempSync(join(tmpdir(), 'job-types-'));
    try {
      writeFileSync(join(dir, 'types.json'), json);
      const fromFile = loadServiceConfig({ JOB_TYPES_FILE: join(dir, 'types.json') });
      expect(fromFile.JOB_TYPES.map((t) => t.name)).toEqual(['a.b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails naming JOB_TYPES when it is not a valid declaration', () => {
    expect(() => loadServiceConfig({ JOB_TYPES: '{' })).toThrow(
      /JOB_TYPES is invalid: expected JSON/,
    );
    expect(() => loadServiceConfig({ JOB_TYPES: '[{"name":"x","max_attempts":0}]' })).toThrow(
      /JOB_TYPES is invalid: expected a JSON array of job types: 0.max_attempts/,
    );
  });
});

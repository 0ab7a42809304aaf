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

describe('job-service config: job logs and run-time types', () => {
  it('reads per-type log bounds and the service-wide defaults', () => {
    const config = loadServiceConfig({
      JOB_TYPES: JSON.stringify([{ name: 'a.b', max_log_lines: 10, max_log_bytes: 4096 }]),
      JOB_LOG_MAX_LINES: '50',
    });
    expect(config.JOB_TYPES[0]).toMatchObject({ maxLogLines: 10, maxLogBytes: 4096 });
    expect(config.JOB_LOG_MAX_LINES).toBe(50);
    expect(config.JOB_LOG_MAX_BYTES).toBe(256 * 1024);
    expect(config.JOB_TYPES_REFRESH_MS).toBe(1_000);
    expect(() => loadServiceConfig({ JOB_TYPES: '[{"name":"x","max_log_lines":-1}]' })).toThrow(
      /0.max_log_lines/,
    );
  });
});

describe('job-service config: retention', () => {
  it('keeps finished jobs by DEFAULT_RETENTION unless JOB_RETENTION says otherwise', () => {
    const day = 24 * 3600 * 1000;
    expect(loadServiceConfig({}).JOB_RETENTION).toEqual({
      SUCCEEDED: { maxAgeMs: day, maxCount: 10_000 },
      DEAD: { maxAgeMs: 14 * day, maxCount: 100_000 },
      CANCELLED: { maxAgeMs: 7 * day, maxCount: 10_000 },
    });
    const config = loadServiceConfig({
      JOB_RETENTION: '{"succeeded":{"max_age_seconds":60},"dead":{"max_count":5}}',
    });
    expect(config.JOB_RETENTION).toEqual({
      SUCCEEDED: { maxAgeMs: 60_000, maxCount: 10_000 },
      DEAD: { maxAgeMs: 14 * day, maxCount: 5 },
      CANCELLED: { maxAgeMs: 7 * day, maxCount: 10_000 },
    });
    expect(config.JOB_RETENTION_INTERVAL_MS).toBe(60_000);
  });

  it('reads a type retention from JOB_TYPES, and names a bad one', () => {
    const [type] = loadServiceConfig({
      JOB_TYPES: JSON.stringify([
        { name: 'a.b', retention: { succeeded: { max_age_seconds: 0.5, max_count: 3 } } },
      ]),
    }).JOB_TYPES;
    expect(type.retention).toEqual({ SUCCEEDED: { maxAgeMs: 500, maxCount: 3 } });
    expect(() =>
      loadServiceConfig({ JOB_TYPES: '[{"name":"x","retention":{"dead":{"max_count":0}}}]' }),
    ).toThrow(/JOB_TYPES is invalid: .*0.retention.dead.max_count/);
    expect(() => loadServiceConfig({ JOB_RETENTION: '{"succeded":{}}' })).toThrow(
      /JOB_RETENTION is invalid: expected an object of retention rules/,
    );
  });
});

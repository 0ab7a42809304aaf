import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, envFlag, envInt, envList, loadConfig } from './load-config';

const shape = {
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, { message: 'expected a mongodb:// URI' }),
  GRPC_PORT: envInt(50051, 0, 65535),
  TRACING_ENABLED: envFlag(false),
  KAFKA_BROKERS: envList(['127.0.0.1:9092']),
};

describe('loadConfig', () => {
  it('parses and applies defaults', () => {
    const config = loadConfig(shape, { MONGODB_URI: 'mongodb://localhost:27017' });
    expect(config).toEqual({
      MONGODB_URI: 'mongodb://localhost:27017',
      GRPC_PORT: 50051,
      TRACING_ENABLED: false,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
    });
  });

  it('a missing required variable is one line naming it', () => {
    expect(() => loadConfig(shape, {})).toThrow(ConfigError);
    try {
      loadConfig(shape, {});
    } catch (err) {
      expect((err as Error).message).toMatch(/^Invalid configuration: MONGODB_URI is required: /);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('an invalid value names the variable and the expected form', () => {
    expect(() => loadConfig(shape, { MONGODB_URI: 'mongodb://x', GRPC_PORT: '99999' })).toThrow(
      'Invalid configuration: GRPC_PORT is invalid: expected an integer between 0 and 65535',
    );
    expect(() => loadConfig(shape, { MONGODB_URI: 'postgres://x' })).toThrow(
      'Invalid configuration: MONGODB_URI is invalid: expected a mongodb:// URI',
    );
    expect(() =>
      loadConfig(shape, { MONGODB_URI: 'mongodb://x', TRACING_ENABLED: 'maybe' }),
    ).toThrow(/TRACING_ENABLED is invalid: expected true or false/);
  });

  it('reads NAME_FILE for secrets, trimmed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'uri');
    writeFileSync(file, 'mongodb://secret@db:27017\n');
    expect(loadConfig(shape, { MONGODB_URI_FILE: file }).MONGODB_URI).toBe(
      'mongodb://secret@db:27017',
    );
    expect(() => loadConfig(shape, { MONGODB_URI_FILE: join(dir, 'missing') })).toThrow(
      /MONGODB_URI_FILE must name a readable file/,
    );
  });

  it('parses lists and flags', () => {
    const config = loadConfig(shape, {
      MONGODB_URI: 'mongodb://x',
      KAFKA_BROKERS: 'a:1, b:2,',
      TRACING_ENABLED: 'true',
    });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.TRACING_ENABLED).toBe(true);
  });
});

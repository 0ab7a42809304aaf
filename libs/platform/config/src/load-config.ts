import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Thrown when the environment does not satisfy a config schema; its message is one line. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`Invalid configuration: ${variable} ${expected}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads every variable named in `schema` from `env`, letting `NAME_FILE` supply `NAME` from a file
 * (Docker/Kubernetes secrets), and validates it. The first problem becomes a one-line ConfigError
 * naming the variable and the expected form.
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Env = process.env,
): z.infer<z.ZodObject<Shape>> {
  const raw: Env = {};
  for (const name of Object.keys(shape)) {
    const fromFile = env[`${name}_FILE`];
    if (fromFile !== undefined && fromFile !== '') {
      try {
        raw[name] = readFileSync(fromFile, 'utf8').trim();
      } catch (err) {
        throw new ConfigError(
          `${name}_FILE`,
          `must name a readable file (${(err as Error).message})`,
        );
      }
    } else {
      raw[name] = env[name] === '' ? undefined : env[name];
    }
  }
  const result = z.object(shape).safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue.path[0] ?? '(unknown)');
  const received = raw[variable];
  throw new ConfigError(
    variable,
    received === undefined ? `is required: ${describe(issue)}` : `is invalid: ${describe(issue)}`,
  );
}

function describe(issue: z.core.$ZodIssue): string {
  return issue.message.replace(/\s+/g, ' ');
}

/** Formats any start-up error as the one line a person reads in a crash loop. */
export function formatConfigError(err: unknown): string {
  return err instanceof ConfigError
    ? err.message
    : `Start-up failed: ${(err as Error)?.message ?? err}`;
}

/** `true`/`false`/`1`/`0`/`yes`/`no`, for positive flags such as TRACING_ENABLED. */
export function envFlag(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined ? defaultValue : v === 'true' || v === '1' || v === 'yes'));
}

/** An integer within [min, max], e.g. a port or a limit. */
export function envInt(defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^-?\d+$/, { message: `expected an integer between ${min} and ${max}` })
    .optional()
    .transform((v) => (v === undefined ? defaultValue : Number(v)))
    .refine((n) => n >= min && n <= max, {
      message: `expected an integer between ${min} and ${max}`,
    });
}

/** A comma-separated list, e.g. KAFKA_BROKERS=host1:9092,host2:9092. */
export function envList(defaultValue: string[]) {
  return z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? defaultValue
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    );
}

// Run by tsx (see env.ts): imports each service's config.ts, prints the variables its configShape
// reads and whether the given environments satisfy it. Request on stdin, answer on stdout (JSON).
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProbeRequest {
  root: string;
  services: Record<string, { configFile: string; envs: Record<string, Record<string, string>> }>;
}

export interface ProbeAnswer {
  [service: string]: { keys: string[]; errors: Record<string, string | null> };
}

interface ConfigModule {
  configShape: Record<string, unknown>;
  loadServiceConfig(env: Record<string, string | undefined>): unknown;
}

function isConfigModule(value: unknown): value is ConfigModule {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<ConfigModule>;
  return (
    typeof candidate.configShape === 'object' && typeof candidate.loadServiceConfig === 'function'
  );
}

async function main(): Promise<void> {
  const request = JSON.parse(readFileSync(0, 'utf8')) as ProbeRequest;
  const answer: ProbeAnswer = {};
  for (const [service, { configFile, envs }] of Object.entries(request.services)) {
    const loaded: unknown = await import(path.resolve(request.root, configFile));
    if (!isConfigModule(loaded))
      throw new Error(`${configFile} exports no configShape/loadServiceConfig`);
    const errors: Record<string, string | null> = {};
    for (const [label, env] of Object.entries(envs)) {
      try {
        loaded.loadServiceConfig(env);
        errors[label] = null;
      } catch (err) {
        errors[label] = (err as Error).message;
      }
    }
    answer[service] = { keys: Object.keys(loaded.configShape).sort(), errors };
  }
  process.stdout.write(JSON.stringify(answer));
}

void main();

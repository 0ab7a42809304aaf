import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const chartDir = path.join(repoRoot, 'deploy', 'helm', 'trellis');
export const composeFile = path.join(repoRoot, 'deploy', 'compose', 'docker-compose.yml');
export const workflowFile = path.join(repoRoot, '.github', 'workflows', 'ci.yml');
export const dockerfile = path.join(repoRoot, 'deploy', 'docker', 'Dockerfile');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** One YAML document; anchors and `<<` merge keys resolved (as compose and GitHub read them). */
export function readYaml(file: string): JsonObject {
  const docs = parseAllDocuments(readText(file), { merge: true });
  if (docs.length !== 1) throw new Error(`${file}: expected one YAML document, got ${docs.length}`);
  const [doc] = docs;
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isObject(value)) throw new Error(`${file}: expected a mapping`);
  return value;
}

export function parseYamlText(text: string): unknown {
  return parse(text, { merge: true });
}

export function get(value: Json | undefined, ...keys: string[]): Json | undefined {
  let current: Json | undefined = value;
  for (const key of keys) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function asObject(value: Json | undefined, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`${what}: expected a mapping`);
  return value;
}

export function asArray(value: Json | undefined, what: string): Json[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list`);
  return value;
}

/** Helm's merge of a user values file over the chart's: maps merge, null deletes, the rest replaces. */
export function helmMerge(base: JsonObject, overlay: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isObject(value) && isObject(current)) out[key] = helmMerge(current, value);
    else out[key] = value;
  }
  return out;
}

export interface NxProject {
  name: string;
  root: string;
  tags: string[];
  targets: Record<string, Json>;
}

/** Every nx project (project.json) in the workspace, by name. */
export function nxProjects(): Map<string, NxProject> {
  const projects = new Map<string, NxProject>();
  const skip = new Set(['node_modules', 'dist', '.git', '.nx', 'tmp', 'coverage', '.data']);
  const walk = (dir: string, depth: number): void => {
    if (depth > 4) return;
    const file = path.join(dir, 'project.json');
    if (dir !== repoRoot && existsSync(file)) {
      const json = JSON.parse(readText(file)) as {
        name: string;
        tags?: string[];
        targets?: Record<string, Json>;
      };
      projects.set(json.name, {
        name: json.name,
        root: path.relative(repoRoot, dir),
        tags: json.tags ?? [],
        targets: json.targets ?? {},
      });
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && !skip.has(entry.name)) walk(path.join(dir, entry.name), depth + 1);
    }
  };
  walk(repoRoot, 0);
  return projects;
}

export function npmScripts(): Record<string, string> {
  const pkg = JSON.parse(readText(path.join(repoRoot, 'package.json'))) as {
    scripts?: Record<string, string>;
  };
  return pkg.scripts ?? {};
}

/** The services that have an app with a config schema (apps/<name>-service/src/config.ts). */
export const serviceNames = ['account', 'job', 'notification'] as const;
export type ServiceName = (typeof serviceNames)[number];

export function configFileOf(service: string): string {
  return path.join('apps', `${service}-service`, 'src', 'config.ts');
}

export interface ProbeResult {
  keys: string[];
  errors: Record<string, string | null>;
}

/**
 * Imports each service's config.ts in a tsx child process: the variables its configShape reads,
 * and the error (or null) loadServiceConfig gives for each named environment.
 */
export function probeConfigs(
  request: Record<string, Record<string, Record<string, string>>>,
): Record<string, ProbeResult> {
  const services = Object.fromEntries(
    Object.entries(request).map(([service, envs]) => [
      service,
      { configFile: configFileOf(service), envs },
    ]),
  );
  const result = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      '--tsconfig',
      path.join(repoRoot, 'tsconfig.base.json'),
      path.join(__dirname, 'config-probe.ts'),
    ],
    {
      cwd: repoRoot,
      input: JSON.stringify({ root: repoRoot, services }),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      timeout: 60_000,
    },
  );
  if (result.status !== 0) {
    throw new Error(`config probe failed (${result.status}): ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as Record<string, ProbeResult>;
}

/** `NAME_FILE` counts as `NAME` when the schema reads NAME (and not NAME_FILE itself). */
export function normalizeEnvName(name: string, schemaKeys: ReadonlySet<string>): string {
  if (schemaKeys.has(name)) return name;
  if (name.endsWith('_FILE') && schemaKeys.has(name.slice(0, -'_FILE'.length))) {
    return name.slice(0, -'_FILE'.length);
  }
  return name;
}

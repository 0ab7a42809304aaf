import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadDescriptorSet } from '@trellis/contracts';
import { createGrpcServer } from '@trellis/platform/grpc';
import { captureLogger } from '@trellis/platform/testing';
import {
  asArray,
  asObject,
  composeFile,
  get,
  isObject,
  type Json,
  type JsonObject,
  nxProjects,
  npmScripts,
  readYaml,
  repoRoot,
  serviceNames,
  workflowFile,
} from './support/repo';

const projects = nxProjects();
const compose = readYaml(composeFile);
const composeServices = asObject(compose.services, 'services');
const workflow = readYaml(workflowFile);
const jobs = asObject(workflow.jobs, 'jobs');

/** An external image pinned to a version (never `latest`, never untagged). */
function expectPinned(image: Json | undefined): void {
  expect(typeof image).toBe('string');
  expect(image).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
  expect(image).not.toMatch(/:latest$/);
}

/** The bundle a project's build target writes (esbuild --outfile=…). */
function bundleOf(project: string): string | undefined {
  const command = get(projects.get(project)?.targets.build, 'options', 'command');
  return typeof command === 'string' ? /--outfile=(\S+)/.exec(command)?.[1] : undefined;
}

function envOf(service: string): Record<string, string> {
  const env = asObject(get(composeServices, service, 'environment'), `${service} environment`);
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

describe('docker-compose.yml', () => {
  const trellis = serviceNames.map((s) => `${s}-service`);

  it('runs MongoDB 7 as a replica set initiated by its healthcheck, Kafka in KRaft mode, Jaeger and Mailpit', () => {
    expect(Object.keys(composeServices).sort()).toEqual(
      ['jaeger', 'kafka', 'mailpit', 'mongo', ...trellis].sort(),
    );
    for (const name of ['mongo', 'kafka', 'jaeger', 'mailpit']) {
      expectPinned(get(composeServices, name, 'image'));
    }
    expect(get(composeServices, 'mongo', 'image')).toMatch(/^mongo:7(\.|$)/);
    expect(get(composeServices, 'mongo', 'command')).toEqual(
      expect.arrayContaining(['mongod', '--replSet', 'rs0', 'transactionLifetimeLimitSeconds=10']),
    );
    const mongoCheck = asArray(get(composeServices, 'mongo', 'healthcheck', 'test'), 'test').join(
      ' ',
    );
    expect(mongoCheck).toContain(
      "rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] })",
    );
    expect(mongoCheck).toContain('isWritablePrimary');

    const kafka = asObject(get(composeServices, 'kafka', 'environment'), 'kafka env');
    expect(get(composeServices, 'kafka', 'image')).toMatch(/^apache\/kafka:/);
    expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(String(kafka.KAFKA_ADVERTISED_LISTENERS)).toContain('PLAINTEXT://kafka:9092');
    expect(Object.keys(kafka).some((k) => k.includes('ZOOKEEPER'))).toBe(false);

    expect(get(composeServices, 'jaeger', 'ports')).toContain('4318:4318');
    expect(get(composeServices, 'mailpit', 'ports')).toEqual(
      expect.arrayContaining(['1025:1025', '8025:8025']),
    );
  });

  it.each(trellis)(
    '%s: built from the repo Dockerfile, runs its own bundle, wired to the backends',
    (name) => {
      const service = asObject(composeServices[name], name);
      const context = path.resolve(
        path.dirname(composeFile),
        String(get(service, 'build', 'context')),
      );
      expect(context).toBe(repoRoot);
      expect(existsSync(path.join(context, String(get(service, 'build', 'dockerfile'))))).toBe(
        true,
      );
      const command = asArray(service.command, 'command');
      expect(command).toEqual([bundleOf(name)]);
      expect(command[0]).toBe(`dist/apps/${name}/main.js`);

      const env = envOf(name);
      expect(env.MONGODB_URI).toBe('mongodb://mongo:27017/?replicaSet=rs0');
      expect(env.KAFKA_BROKERS).toBe('kafka:9092');
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
      expect(env.TRACING_ENABLED).toBe('true');
      expect(service.ports).toEqual(
        expect.arrayContaining([
          `${env.GRPC_PORT}:${env.GRPC_PORT}`,
          `${env.METRICS_PORT}:${env.METRICS_PORT}`,
        ]),
      );
      for (const dependency of Object.keys(asObject(service.depends_on, 'depends_on'))) {
        expect(Object.keys(composeServices)).toContain(dependency);
      }
      expect(get(service, 'depends_on', 'mongo', 'condition')).toBe('service_healthy');
      expect(get(service, 'depends_on', 'kafka', 'condition')).toBe('service_healthy');
      // Docker waits longer than the service's own drain before it kills.
      const grace = /^(\d+)s$/.exec(String(service.stop_grace_period));
      expect(Number(grace?.[1]) * 1000).toBeGreaterThan(Number(env.SHUTDOWN_GRACE_MS));
      expect(service.read_only).toBe(true);
    },
  );

  it('each service is healthy when gRPC health "readiness" is SERVING: the healthcheck asks a real server', async () => {
    const tests = trellis.map((name) =>
      asArray(get(composeServices, name, 'healthcheck', 'test'), 'test'),
    );
    for (const test of tests) expect(test).toEqual(tests[0]);
    const [cmd, node, flag, script] = tests[0] as string[];
    expect([cmd, node, flag]).toEqual(['CMD', 'node', '-e']);
    const server = createGrpcServer({
      logger: captureLogger('compose-healthcheck').logger,
      descriptorSet: loadDescriptorSet(),
    });
    const port = await server.listen('127.0.0.1:0');
    const check = () =>
      new Promise<number | null>((resolve) =>
        spawn(process.execPath, ['-e', script], {
          env: { GRPC_PORT: String(port) },
          stdio: 'ignore',
        }).once('exit', resolve),
      );
    try {
      expect(await check()).toBe(1);
      server.setServing(true);
      expect(await check()).toBe(0);
      // MongoDB or Kafka gone: not ready, while the process stays up.
      server.setServing(false);
      expect(await check()).toBe(1);
    } finally {
      await server.shutdown();
    }
    expect(await check()).toBe(1);
  });

  it('notification-service sends to Mailpit and calls job-service where it listens', () => {
    const env = envOf('notification-service');
    expect(env.SMTP_URL).toBe('smtp://mailpit:1025');
    const [host, port] = env.JOB_SERVICE_ADDRESS.split(':');
    expect(host).toBe('job-service');
    expect(port).toBe(envOf('job-service').GRPC_PORT);
    expect(get(composeServices, 'notification-service', 'depends_on', 'job-service')).toBeDefined();
  });

  it('declares the volumes it mounts', () => {
    const declared = Object.keys(asObject(compose.volumes, 'volumes'));
    for (const service of Object.values(composeServices)) {
      for (const volume of (get(service, 'volumes') as string[] | undefined) ?? []) {
        expect(declared).toContain(volume.split(':')[0]);
      }
    }
  });
});

describe('.github/workflows/ci.yml', () => {
  const knownActions = new Set([
    'actions/checkout@v4',
    'actions/setup-node@v4',
    'azure/setup-helm@v4',
    'docker/setup-buildx-action@v3',
    'docker/build-push-action@v6',
  ]);
  const steps = Object.entries(jobs).flatMap(([job, spec]) =>
    asArray(get(spec, 'steps'), `${job}.steps`).map((step) => ({ job, step: asObject(step, job) })),
  );
  const runs = steps.flatMap(({ job, step }) =>
    typeof step.run === 'string' ? [{ job, run: step.run }] : [],
  );

  it('has the test, integration, helm, buf and docker jobs, each with a timeout', () => {
    expect(Object.keys(jobs).sort()).toEqual(['buf', 'docker', 'helm', 'integration', 'test']);
    for (const spec of Object.values(jobs)) expect(get(spec, 'timeout-minutes')).toBeDefined();
  });

  it('uses only known actions, pinned to a major version', () => {
    const used = steps.flatMap(({ step }) => (typeof step.uses === 'string' ? [step.uses] : []));
    expect(used.length).toBeGreaterThan(5);
    for (const action of used) expect(knownActions).toContain(action);
  });

  it('every npm, nx and buf command it runs exists in the repo', () => {
    const scripts = npmScripts();
    let checked = 0;
    for (const { run } of runs) {
      for (const match of run.matchAll(/\bnpm (?:run )?([a-z:-]+)/g)) {
        if (['ci', 'install', 'audit'].includes(match[1])) continue; // npm's own commands
        expect(Object.keys(scripts)).toContain(match[1]);
        checked++;
      }
      for (const match of run.matchAll(/npx nx run-many -t (\S+) -p ((?:[a-z][a-z0-9-]* ?)+)/g)) {
        const targets = match[1].split(',');
        for (const project of match[2].trim().split(' ')) {
          expect(projects.has(project)).toBe(true);
          for (const target of targets)
            expect(Object.keys(projects.get(project)!.targets)).toContain(target);
          checked++;
        }
      }
      for (const match of run.matchAll(/npx (\w[\w-]*)/g)) {
        expect(existsSync(path.join(repoRoot, 'node_modules', '.bin', match[1]))).toBe(true);
      }
      for (const match of run.matchAll(/(?:^|\s)(\.ci\/run|deploy\/[\w./*-]+)/g)) {
        const file = match[1];
        if (file.includes('*')) {
          const dir = path.join(repoRoot, path.dirname(file));
          const suffix = path.basename(file).replace('*', '');
          expect(readdirSync(dir).some((f) => f.endsWith(suffix))).toBe(true);
        } else {
          expect(existsSync(path.join(repoRoot, file))).toBe(true);
        }
        checked++;
      }
    }
    accessSync(path.join(repoRoot, '.ci', 'run'), constants.X_OK);
    expect(checked).toBeGreaterThan(8);
  });

  it('test job runs the whole suite: .ci/run is npm ci, the quick start walked literally, npm test', () => {
    expect(runs.filter((r) => r.job === 'test').map((r) => r.run.trim())).toContain('.ci/run');
    const ciRun = readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
    const steps = ['npm ci', 'bash .ci/quick-start', 'npm test'].map((step) =>
      ciRun.search(new RegExp(`^${step.replace(/\./g, '\\.')}\\b`, 'm')),
    );
    expect(steps.every((at) => at >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    const quickStart = readFileSync(path.join(repoRoot, '.ci', 'quick-start'), 'utf8');
    expect(quickStart).toMatch(/^setsid npm start\b/m);
    expect(quickStart).toMatch(/buf curl/);
    expect(quickStart).toMatch(/kill -INT/);
  });

  it('integration job: real mongo:7 replica set and Kafka, through the variables the suites read', () => {
    const integration = asObject(jobs.integration, 'integration');
    const env = asObject(integration.env, 'integration env');
    expect(env.MONGODB_URI).toBe('mongodb://localhost:27017/?replicaSet=rs0');
    expect(env.KAFKA_BROKERS).toBe('localhost:9092');
    const kafka = asObject(get(integration, 'services', 'kafka'), 'kafka service');
    expectPinned(kafka.image);
    expect(get(kafka, 'env', 'KAFKA_PROCESS_ROLES')).toBe('broker,controller');
    expect(get(kafka, 'env', 'KAFKA_ADVERTISED_LISTENERS')).toBe('PLAINTEXT://localhost:9092');
    const script = runs
      .filter((r) => r.job === 'integration')
      .map((r) => r.run)
      .join('\n');
    expect(script).toMatch(
      /docker run -d --name mongo -p 27017:27017 mongo:7\.\d+ mongod --replSet rs0/,
    );
    expect(script).toContain(
      "rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'localhost:27017' }] })",
    );
    // Each suite it runs reads MONGODB_URI or KAFKA_BROKERS (else it would test the devstack).
    const suites = /run-many -t \S+ -p ((?:[a-z][a-z0-9-]* ?)+)/.exec(script)![1].trim().split(' ');
    expect(suites).toEqual([
      'devstack-mongo',
      'devstack-kafka',
      'platform-mongo',
      'platform-messaging',
    ]);
    for (const suite of suites) {
      const testDir = path.join(repoRoot, projects.get(suite)!.root, 'test');
      const sources = readdirSync(testDir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => readFileSync(path.join(testDir, f), 'utf8'))
        .join('\n');
      expect(sources).toMatch(/process\.env(\.|\[')(MONGODB_URI|KAFKA_BROKERS)/);
    }
  });

  it('helm, buf and docker jobs check what they claim', () => {
    const by = (job: string) =>
      runs
        .filter((r) => r.job === job)
        .map((r) => r.run)
        .join('\n');
    expect(by('helm')).toContain('helm lint --strict deploy/helm/trellis');
    expect(by('helm')).toMatch(
      /helm template trellis deploy\/helm\/trellis[^|]*\\\n?\s*\| kubeconform -strict/,
    );
    expect(by('buf')).toContain('npx buf lint');
    expect(by('buf')).toContain("npx buf breaking --against '.git#branch=main'");
    const build = steps.find(({ step }) => step.uses === 'docker/build-push-action@v6')!.step;
    expect(get(build, 'with', 'file')).toBe('deploy/docker/Dockerfile');
    expect(by('docker')).toContain(
      'docker compose -f deploy/compose/docker-compose.yml up -d --wait',
    );
    const checkout = asObject(
      asArray(get(jobs.buf, 'steps'), 'buf steps').find(
        (s) => isObject(s) && s.uses === 'actions/checkout@v4',
      ),
      'checkout',
    ) as JsonObject;
    expect(get(checkout, 'with', 'fetch-depth')).toBe(0);
  });
});

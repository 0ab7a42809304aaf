import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { healthV1 } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { bufCurl, freePort, waitFor } from '@trellis/platform/testing';
import { dockerfile, get, nxProjects, readText, repoRoot, serviceNames } from './support/repo';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) throw new Error(`Dockerfile: cannot read '${line}'`);
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({
        from: from.replace(/\$\{(\w+)\}/g, (_, n: string) => args[n] ?? ''),
        name,
        instructions: [],
      });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [name, value] = rest.split('=');
      args[name] = value ?? '';
    } else {
      stages[stages.length - 1].instructions.push({ op: upper, args: rest.replace(/\s+/g, ' ') });
    }
  }
  return { args, stages };
}

const { stages } = parseDockerfile(readText(dockerfile));
const build = stages.find((s) => s.name === 'build')!;
const runtime = stages[stages.length - 1];
const ops = (stage: Stage, op: string) =>
  stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const projects = nxProjects();
const bundles = serviceNames.map((s) => `dist/apps/${s}-service`);

describe('Dockerfile', () => {
  it('two stages on node:20-slim: build (npm ci + nx build of the three services) and runtime', () => {
    expect(stages.map((s) => [s.from, s.name])).toEqual([
      ['node:20-slim', 'build'],
      ['node:20-slim', 'runtime'],
    ]);
    expect(ops(build, 'RUN')).toContain('npm ci --no-audit --no-fund');
    const nxBuild = ops(build, 'RUN').find((r) => r.includes('npx nx run-many'))!;
    // Generated before the bundles: the apps' esbuild targets do not depend on it themselves.
    expect(nxBuild.startsWith('npx nx run contracts:generate ')).toBe(true);
    expect(projects.get('contracts')?.targets.generate).toBeDefined();
    const built = /-t build -p ((?:[a-z][a-z0-9-]* ?)+)/.exec(nxBuild)![1].trim().split(' ');
    expect(built).toEqual(serviceNames.map((s) => `${s}-service`));
    for (const project of built) expect(projects.get(project)?.targets.build).toBeDefined();
  });

  it("each app's build writes its bundle and the descriptor set beside it", () => {
    for (const service of serviceNames) {
      const command = String(
        get(projects.get(`${service}-service`)?.targets.build, 'options', 'command'),
      );
      expect(command).toContain('--packages=external');
      expect(command).toContain(`--outfile=dist/apps/${service}-service/main.js`);
      expect(command).toContain(
        `cp libs/contracts/descriptors/trellis.binpb dist/apps/${service}-service/descriptors/`,
      );
    }
  });

  it('runtime: production dependencies only, the bundles, non-root, NODE_ENV=production, SIGTERM, exec form', () => {
    expect(ops(runtime, 'ENV')).toContain('NODE_ENV=production');
    expect(ops(runtime, 'RUN').some((r) => r.startsWith('npm ci --omit=dev'))).toBe(true);
    expect(ops(runtime, 'COPY')).toContain('package.json package-lock.json .npmrc ./');
    for (const bundle of bundles) {
      expect(ops(runtime, 'COPY')).toContain(`--from=build /src/${bundle}/ ${bundle}/`);
    }
    const [user] = ops(runtime, 'USER');
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/); // numeric, not root: runAsNonRoot can verify it
    expect(ops(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM']);
    const entrypoint = JSON.parse(ops(runtime, 'ENTRYPOINT')[0]) as string[];
    const cmd = JSON.parse(ops(runtime, 'CMD')[0]) as string[];
    expect(entrypoint[0]).toBe('node');
    expect(cmd).toEqual(['dist/apps/account-service/main.js']);
  });

  it('.dockerignore keeps build inputs and drops node_modules, dist, .git', () => {
    const patterns = readText(path.join(repoRoot, '.dockerignore'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const ignored = (file: string) =>
      patterns.some((p) => {
        const bare = p.replace(/^\*\*\//, '');
        return file === p || file.startsWith(`${p}/`) || file.split('/').includes(bare);
      });
    for (const needed of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'nx.json',
      'tsconfig.base.json',
      'buf.yaml',
      'buf.gen.yaml',
      'proto/trellis/account/v1/account_service.proto',
      'libs/contracts/src/index.ts',
      'libs/platform/runtime/src/index.ts',
      'apps/account-service/src/main.ts',
    ]) {
      expect([needed, ignored(needed)]).toEqual([needed, false]);
    }
    for (const dropped of [
      'node_modules',
      'dist/apps',
      '.git',
      'libs/contracts/node_modules',
      '.nx',
    ]) {
      expect([dropped, ignored(dropped)]).toEqual([dropped, true]);
    }
  });
});

/** Bare package names a bundle requires at run time (what --packages=external left out). */
function externalPackages(bundle: string): string[] {
  const names = new Set<string>();
  for (const match of readFileSync(bundle, 'utf8').matchAll(/\brequire\("([^"./][^"]*)"\)/g)) {
    const id = match[1];
    if (id.startsWith('node:') || builtinModules.includes(id)) continue;
    names.add(id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]);
  }
  return [...names].sort();
}

let mongo: MongoDevServer | undefined;
let broker: KafkaDevBroker | undefined;
const mongoUri = () => mongo!.uri;
const kafkaBrokers = () => broker!.brokers.join(',');

describe('the production layout of the image, built in a temp folder', () => {
  let workdir: string | undefined;

  afterAll(async () => {
    await broker?.stop();
    await mongo?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('npm ci --omit=dev + the bundles: the three services start on the devstack, turn SERVING, serve reflection, exit 0 on SIGTERM', async () => {
    const bundle = path.join(repoRoot, 'dist/apps/account-service/main.js');
    expect(existsSync(bundle)).toBe(true); // deploy:test depends on the apps' build
    workdir = mkdtempSync(path.join(tmpdir(), 'trellis-image-'));

    // COPY package.json package-lock.json .npmrc ./ and the runtime stage's npm ci, as written.
    const [copy] = ops(runtime, 'COPY');
    for (const file of copy.split(' ').slice(0, -1))
      cpSync(path.join(repoRoot, file), path.join(workdir, file));
    const install = ops(runtime, 'RUN')
      .find((r) => r.startsWith('npm ci --omit=dev'))!
      .split(' && ')[0];
    const npm = spawnSync(`${install} --prefer-offline --loglevel=error`, {
      cwd: workdir,
      shell: true,
      encoding: 'utf8',
      timeout: 150_000,
      env: { ...process.env, NODE_ENV: 'production', npm_config_update_notifier: 'false' },
    });
    expect([npm.status, npm.stderr.split('\n').filter((l) => /ERR/.test(l))]).toEqual([0, []]);

    const modules = path.join(workdir, 'node_modules');
    const pkg = JSON.parse(readText(path.join(repoRoot, 'package.json'))) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dev of ['typescript', 'nx', 'jest', 'esbuild', 'yaml']) {
      if (dev in pkg.devDependencies && !hoistedForProduction(dev)) {
        expect([dev, existsSync(path.join(modules, dev))]).toEqual([dev, false]);
      }
    }
    // What only the devstack servers use is no production dependency and not in the image.
    for (const devstackOnly of ['mingo', 'mailauth', '@js-sdsl/ordered-set']) {
      const installed = existsSync(path.join(modules, devstackOnly));
      expect([devstackOnly, devstackOnly in pkg.dependencies, installed]).toEqual([
        devstackOnly,
        false,
        false,
      ]);
    }
    // bson: the devstack's own dependency, in the image only because the mongodb driver needs it.
    expect(['bson', 'bson' in pkg.dependencies]).toEqual(['bson', false]);
    // smtp-server is a runtime dependency: the notification-service's bounce intake listens with it.
    expect(['smtp-server', 'smtp-server' in pkg.dependencies]).toEqual(['smtp-server', true]);
    expect(existsSync(path.join(modules, 'smtp-server', 'package.json'))).toBe(true);
    // Every package any built bundle requires is a production dependency, installed here.
    // The bundles the image ships (dist/apps also holds npm start's devstack bundle, never shipped).
    for (const built of bundles.map((dir) => path.basename(dir))) {
      const main = path.join(repoRoot, 'dist/apps', built, 'main.js');
      if (!existsSync(main)) continue;
      for (const name of externalPackages(main)) {
        expect([built, name, name in pkg.dependencies]).toEqual([built, name, true]);
        expect([built, name, existsSync(path.join(modules, name, 'package.json'))]).toEqual([
          built,
          name,
          true,
        ]);
      }
    }

    // COPY --from=build /src/dist/apps/<svc>/ …: bundle, source map, descriptors/.
    for (const bundleDir of bundles) {
      cpSync(path.join(repoRoot, bundleDir), path.join(workdir, bundleDir), { recursive: true });
    }

    mongo = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
    broker = process.env.KAFKA_BROKERS ? undefined : await startKafkaDevBroker({ port: 0 });
    const account = await startBundle(workdir, 'account', {});
    const job = await startBundle(workdir, 'job', {});
    const notification = await startBundle(workdir, 'notification', {
      JOB_SERVICE_ADDRESS: `127.0.0.1:${job.grpcPort}`,
      SMTP_URL: 'smtp://127.0.0.1:2525',
    });
    const running = [account, job, notification];
    try {
      for (const service of running) {
        const outcome = await waitFor(() => service.serving(), {
          timeoutMs: 60_000,
          what: `${service.name}-service health SERVING`,
        });
        expect([service.name, outcome, outcome === 'serving' ? '' : service.output()]).toEqual([
          service.name,
          'serving',
          '',
        ]);
        const metrics = await (
          await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)
        ).text();
        expect(metrics).toContain(`${service.name}-service`);
        // Reflection serves the descriptor set the layout carries next to the bundle (the
        // source-relative path does not exist there), so buf curl resolves the service.
        const listed = await bufCurl(['--list-services', `http://127.0.0.1:${service.grpcPort}`]);
        expect([listed.exitCode, listed.stderr]).toEqual([0, '']);
        expect(listed.stdout).toContain(`trellis.${service.name}.v1.`);
      }
      expect(existsSync(path.join(workdir, 'dist/apps/descriptors'))).toBe(false);
    } finally {
      for (const service of running.reverse()) service.stop();
    }
    for (const service of running) {
      expect([service.name, await service.exited]).toEqual([service.name, 0]);
      expect(service.output()).toContain('"msg":"stopped"');
    }
  });
});

interface StartedBundle {
  name: string;
  grpcPort: number;
  metricsPort: number;
  exited: Promise<number | null>;
  output(): string;
  serving(): Promise<'serving' | 'exited' | false>;
  stop(): void;
}

/** Starts dist/apps/<svc>-service/main.js the way the image's ENTRYPOINT + command does. */
async function startBundle(
  workdir: string,
  name: string,
  env: Record<string, string>,
): Promise<StartedBundle> {
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const entrypoint = JSON.parse(ops(runtime, 'ENTRYPOINT')[0]) as string[];
  const child = spawn(
    process.execPath,
    [...entrypoint.slice(1), `dist/apps/${name}-service/main.js`],
    {
      cwd: workdir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        METRICS_PORT: String(metricsPort),
        MONGODB_URI: process.env.MONGODB_URI ?? mongoUri(),
        MONGODB_DATABASE: `deploy_image_${name}_${process.pid}`,
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? kafkaBrokers(),
        ALLOW_INSECURE: 'true',
        TRACING_ENABLED: 'true',
        ...env,
      },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const channel = createChannel(`127.0.0.1:${grpcPort}`);
  const health = createClient(healthV1.HealthDefinition, channel);
  return {
    name,
    grpcPort,
    metricsPort,
    exited,
    output: () => output,
    async serving() {
      if (child.exitCode !== null) return 'exited';
      const reply = await health.check({ service: '' }).catch(() => undefined);
      return reply?.status === healthV1.HealthCheckResponse_ServingStatus.SERVING && 'serving';
    },
    stop() {
      channel.close();
      child.kill('SIGTERM');
    },
  };
}

/** yaml is a devDependency that a production package also needs, so npm installs it anyway. */
function hoistedForProduction(name: string): boolean {
  const lock = JSON.parse(readText(path.join(repoRoot, 'package-lock.json'))) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return lock.packages[`node_modules/${name}`]?.dev !== true;
}

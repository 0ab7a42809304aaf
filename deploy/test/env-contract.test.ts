import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  asObject,
  chartDir,
  composeFile,
  configFileOf,
  get,
  helmMerge,
  isObject,
  type JsonObject,
  normalizeEnvName,
  probeConfigs,
  readText,
  readYaml,
  repoRoot,
  serviceNames,
} from './support/repo';
import { parseTemplate, renderSkeleton, type ConditionPolicy } from './support/helm-template';

const chartValues = readYaml(path.join(chartDir, 'values.yaml'));
const services = asObject(chartValues.services, 'services');
/** values.yaml with every deliverability key on, as an operator turns them on (README). */
const allKeysValues = helmMerge(chartValues, {
  mailKeys: Object.fromEntries(
    ['unsubscribe', 'bounce', 'bounceWebhook', 'dkim'].map((k) => [k, { enabled: true }]),
  ),
  services: {
    notification: { env: { DKIM_DOMAIN: 'example.com', BOUNCE_SMTP_ENABLED: 'true' } },
  },
});
const compose = readYaml(composeFile);
const composeServices = asObject(compose.services, 'compose services');
const templates = path.join(chartDir, 'templates');
const configMapTemplate = parseTemplate(readText(path.join(templates, 'configmap.yaml')), 'cm');
const deploymentTemplate = parseTemplate(readText(path.join(templates, 'deployment.yaml')), 'dep');

function lookup(root: JsonObject, svc: JsonObject, ref: string): unknown {
  const [head, ...fields] = ref.split('.');
  let current: unknown = head === '$svc' ? svc : head === '$' ? root : undefined;
  if (head === '$') fields.shift(); // $.Values.x → x
  for (const field of fields) current = isObject(current) ? current[field] : undefined;
  return current;
}

/**
 * Conditions on `$svc.<key>` (this service's values block) are decided from values.yaml; with
 * `allValues`, conditions on `$.Values.<path>` are too. Anything else renders both branches, so the
 * names collected are every variable the chart can set for the service.
 */
function policyFor(values: JsonObject, svc: JsonObject, allValues: boolean): ConditionPolicy {
  return (head) => {
    const match = /^(?:if|with)\s+(\$svc(?:\.\w+)+|\$\.Values(?:\.\w+)+)$/.exec(head);
    if (!match || (match[1].startsWith('$.') && !allValues)) return undefined;
    const value = lookup(values, svc, match[1]);
    return Array.isArray(value)
      ? value.length > 0
      : isObject(value)
        ? Object.keys(value).length > 0
        : Boolean(value);
  };
}

/**
 * How `quote` prints a value: Helm reads numbers from values files as float64, and Go prints a
 * float64 of 1e6 or more in exponent form (4194304 → "4.194304e+06") unless piped through int64.
 */
function goString(value: unknown, asInt64: boolean): string {
  if (typeof value === 'number' && !asInt64 && Math.abs(value) >= 1e6) {
    return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(value);
}

interface ChartEnv {
  names: Set<string>;
  /** Values as a pod would see them with values.yaml (secrets stubbed); unresolved ones omitted. */
  env: Record<string, string>;
}

function chartEnv(name: string, allValues: boolean, values: JsonObject = chartValues): ChartEnv {
  const svc = asObject(get(values, 'services', name), name);
  const policy = policyFor(values, svc, allValues);
  const names = new Set<string>();
  const env: Record<string, string> = {};
  // ConfigMap data (envFrom): the first ConfigMap of the template is the service's environment.
  const cm = renderSkeleton(configMapTemplate, policy);
  const doc = cm.text.split(/^---$/m).find((d) => /kind: ConfigMap/.test(d) && !/-files$/m.test(d));
  const data = (doc ?? '').split(/^data:$/m)[1] ?? '';
  for (const line of data.split('\n')) {
    const entry = /^ {2}([^\s:]+): (.*)$/.exec(line);
    if (!entry) continue;
    const [, key, raw] = entry;
    const keyExpr = /^(__tpl\d+)(.*)$/.exec(key);
    const valueExpr = cm.placeholders.get(raw) ?? '';
    if (keyExpr && cm.placeholders.get(keyExpr[1]) === 'upper $callee') {
      for (const callee of (svc.calls as string[]) ?? []) {
        const port = get(services, callee, 'grpcPort');
        names.add(`${callee.toUpperCase()}${keyExpr[2]}`);
        env[`${callee.toUpperCase()}${keyExpr[2]}`] =
          `trellis-${callee}-headless.default.svc.cluster.local:${port}`;
      }
    } else if (keyExpr && cm.placeholders.get(keyExpr[1]) === '$key') {
      for (const [k, v] of Object.entries(asObject(svc.env, `${name}.env`))) {
        names.add(k);
        env[k] = String(v);
      }
    } else if (keyExpr) {
      throw new Error(
        `configmap.yaml: cannot name the variable of '${cm.placeholders.get(keyExpr[1])}'`,
      );
    } else {
      names.add(key);
      const ref = /^(\$svc(?:\.\w+)+|\$\.Values(?:\.\w+)+)( \| int64)? \| quote$/.exec(valueExpr);
      if (/^".*"$/.test(raw)) env[key] = JSON.parse(raw) as string;
      else if (ref) env[key] = goString(lookup(values, svc, ref[1]), ref[2] !== undefined);
      else if (
        key === 'AUTHZ_POLICY' &&
        Object.keys(asObject(svc.authzPolicy, 'authzPolicy')).length === 0
      )
        env[key] = '';
    }
  }
  // Explicit env of the container: secrets mounted as files (*_FILE).
  const dep = renderSkeleton(deploymentTemplate, policy);
  for (const match of dep.text.matchAll(/^\s+- name: ([A-Z][A-Z0-9_]*)\s*$/gm)) names.add(match[1]);
  return { names, env };
}

const stubSecrets: Record<string, string> = {
  MONGODB_URI: 'mongodb://mongo-0.mongo.example:27017/?replicaSet=rs0',
  KAFKA_BROKERS: 'kafka-0.kafka.example:9092,kafka-1.kafka.example:9092',
  SMTP_URL: 'smtps://user:secret@smtp.example.com:465',
  UNSUBSCRIBE_KEYS: 'k1:0123456789abcdef0123',
  BOUNCE_KEYS: 'k1:fedcba9876543210fedc',
  BOUNCE_WEBHOOK_KEYS: 'esp:0011223344556677889900',
  DKIM_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nstub\n-----END PRIVATE KEY-----',
};

/** What a pod of `service` sees with `values`: the ConfigMap plus the stubbed *_FILE secrets. */
function podEnv(service: string, values: JsonObject): Record<string, string> {
  const chart = chartEnv(service, true, values);
  const fromFiles = Object.fromEntries(
    [...chart.names]
      .filter((n) => n.endsWith('_FILE') && stubSecrets[n.slice(0, -5)] !== undefined)
      .map((n) => [n.slice(0, -5), stubSecrets[n.slice(0, -5)]]),
  );
  return { ...chart.env, ...fromFiles };
}

describe('environment contract: chart and compose set exactly what the config schemas read', () => {
  const present = serviceNames.filter((s) => existsSync(path.join(repoRoot, configFileOf(s))));
  const probeRequest = Object.fromEntries(
    present.map((s) => {
      const composeEnv = get(composeServices, `${s}-service`, 'environment');
      return [
        s,
        {
          compose: isObject(composeEnv) ? (composeEnv as Record<string, string>) : {},
          chart: podEnv(s, chartValues),
          chartAllKeys: podEnv(s, allKeysValues),
        },
      ];
    }),
  );
  const probed = probeConfigs(probeRequest);

  it('every service of the chart has its app and config schema', () => {
    expect(Object.keys(services).sort()).toEqual([...serviceNames].sort());
    expect(present).toEqual([...serviceNames]);
  });

  it.each(serviceNames)('%s-service: the chart sets exactly its config variables', (service) => {
    const schemaKeys = new Set(probed[service].keys);
    expect(schemaKeys.size).toBeGreaterThan(10);
    const chartNames = [...chartEnv(service, false).names].map((n) =>
      normalizeEnvName(n, schemaKeys),
    );
    expect(new Set(chartNames)).toEqual(schemaKeys);
  });

  it.each(serviceNames)('%s-service: compose sets exactly its config variables', (service) => {
    const schemaKeys = new Set(probed[service].keys);
    const environment = asObject(
      get(composeServices, `${service}-service`, 'environment'),
      service,
    );
    const composeNames = Object.keys(environment).map((n) => normalizeEnvName(n, schemaKeys));
    expect(new Set(composeNames)).toEqual(schemaKeys);
  });

  it.each(serviceNames)(
    '%s-service: its config accepts the compose and chart values (also with every mail key on)',
    (service) => {
      expect(probed[service].errors).toEqual({ compose: null, chart: null, chartAllKeys: null });
    },
  );

  it('with every mail key on, the notification pod reads each key from its file', () => {
    const names = chartEnv('notification', true, allKeysValues).names;
    for (const key of [
      'UNSUBSCRIBE_KEYS',
      'BOUNCE_KEYS',
      'BOUNCE_WEBHOOK_KEYS',
      'DKIM_PRIVATE_KEY',
    ]) {
      expect([key, names.has(`${key}_FILE`), names.has(key)]).toEqual([key, true, false]);
    }
    expect(chartEnv('notification', true).names.has('UNSUBSCRIBE_KEYS_FILE')).toBe(false);
    expect(chartEnv('account', true, allKeysValues).names.has('UNSUBSCRIBE_KEYS_FILE')).toBe(false);
  });

  it('the comparison notices a variable the schema does not read', () => {
    const schemaKeys = new Set(probed.account.keys);
    expect(normalizeEnvName('MONGODB_URI_FILE', schemaKeys)).toBe('MONGODB_URI');
    expect(normalizeEnvName('TLS_CA_FILE', schemaKeys)).toBe('TLS_CA_FILE');
    expect(schemaKeys.has(normalizeEnvName('ACCOUNT_MAX_AMOUNT', schemaKeys))).toBe(false);
    expect(probeConfigs({ account: { bad: { GRPC_PORT: '70000' } } }).account.errors.bad).toMatch(
      /GRPC_PORT/,
    );
  });
});

import { readdirSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { LIVENESS_SERVICE, READINESS_SERVICE } from '@trellis/platform/grpc';
import {
  asObject,
  chartDir,
  get,
  helmMerge,
  isObject,
  type JsonObject,
  readText,
  readYaml,
} from './support/repo';
import {
  functionsCalled,
  knownTemplateFunctions,
  parseTemplate,
  pathExists,
  renderSkeleton,
  valuesReferences,
  type Node,
} from './support/helm-template';

const values = readYaml(path.join(chartDir, 'values.yaml'));
const schema = JSON.parse(readText(path.join(chartDir, 'values.schema.json'))) as JsonObject;
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
const templatesDir = path.join(chartDir, 'templates');
const templateFiles = readdirSync(templatesDir).sort();
const parsed = new Map<string, Node[]>(
  templateFiles.map((file) => [file, parseTemplate(readText(path.join(templatesDir, file)), file)]),
);
const fixturesDir = path.join(__dirname, 'fixtures');

function errorsOf(candidate: JsonObject): ErrorObject[] {
  return validate(candidate) ? [] : [...(validate.errors ?? [])];
}

describe('values.schema.json', () => {
  it('accepts the chart values.yaml', () => {
    expect(errorsOf(values)).toEqual([]);
  });

  const fixtures = readdirSync(fixturesDir).filter((file) => file.endsWith('.yaml'));
  it.each(fixtures)('rejects %s where its header says', (file) => {
    const text = readText(path.join(fixturesDir, file));
    const expectation = /^# expect: (\S+) (\S+)$/m.exec(text);
    expect(expectation).not.toBeNull();
    const [, instancePath, keyword] = expectation!;
    // helm merges a -f file over values.yaml (null deletes a key) and validates the result.
    const merged = helmMerge(values, readYaml(path.join(fixturesDir, file)));
    const errors = errorsOf(merged);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => `${e.instancePath} ${e.keyword}`)).toContain(
      `${instancePath} ${keyword}`,
    );
  });

  it('has at least one fixture per kind of mistake (range, enum, required, unknown key, type)', () => {
    const kinds = readdirSync(fixturesDir).map(
      (file) => /^# expect: \S+ (\S+)$/m.exec(readText(path.join(fixturesDir, file)))?.[1],
    );
    expect(kinds).not.toContain(undefined);
    for (const keyword of [
      'maximum',
      'enum',
      'required',
      'additionalProperties',
      'type',
      'const',
    ]) {
      expect(kinds).toContain(keyword);
    }
  });
});

describe('chart templates', () => {
  it('has the objects an operator needs, one template each, ranging over services', () => {
    expect(templateFiles).toEqual(
      expect.arrayContaining([
        '_helpers.tpl',
        'NOTES.txt',
        'configmap.yaml',
        'deployment.yaml',
        'hpa.yaml',
        'networkpolicy.yaml',
        'pdb.yaml',
        'service.yaml',
        'serviceaccount.yaml',
        'servicemonitor.yaml',
      ]),
    );
    for (const file of templateFiles.filter((f) => f.endsWith('.yaml'))) {
      const text = readText(path.join(templatesDir, file));
      // Per-service objects come from one range, never from a copy per service.
      expect(text).not.toMatch(/\b(account|job|notification)-service\b(?!\/main\.js)/);
    }
  });

  it.each(templateFiles)('%s: if/range/with/define blocks are balanced', (file) => {
    expect(parsed.get(file)!.length).toBeGreaterThan(0);
  });

  it('every .Values path the templates read is defined in values.yaml', () => {
    const missing: string[] = [];
    const unresolvedAll: string[] = [];
    let count = 0;
    for (const [file, nodes] of parsed) {
      const { references, unresolved } = valuesReferences(nodes);
      count += references.length;
      for (const ref of references) {
        if (!pathExists(values, ref.path))
          missing.push(`${file}:${ref.line} ${ref.path.join('.')}`);
      }
      for (const ref of unresolved) unresolvedAll.push(`${file}:${ref.line} ${ref.path.join('.')}`);
    }
    expect(missing).toEqual([]);
    expect(unresolvedAll).toEqual([]);
    expect(count).toBeGreaterThan(50);
  });

  it('the path check itself catches a missing key', () => {
    const nodes = parseTemplate(
      '{{- range $name, $svc := .Values.services }}{{ $svc.grpcPortt }}{{ end }}{{ .Values.imag.tag }}',
      'probe',
    );
    const { references } = valuesReferences(nodes);
    expect(references.map((r) => [r.path.join('.'), pathExists(values, r.path)])).toEqual([
      ['services', true],
      ['services.*.grpcPortt', false],
      ['imag.tag', false],
    ]);
    const broken = renderSkeleton(
      parseTemplate('a:\n  b: {{ .Values.x }}\n c: 1\n', 'probe'),
      () => true,
    );
    expect(parseAllDocuments(broken.text)[0].errors).not.toEqual([]);
    expect(() => parseTemplate('{{ if .Values.a }}x', 'probe')).toThrow(/never closed/);
    expect(() => parseTemplate('x{{ end }}', 'probe')).toThrow(/end without a block/);
  });

  it('calls only functions Go templates, Helm and Sprig define', () => {
    const unknown = [...parsed].flatMap(([file, nodes]) =>
      [...functionsCalled(nodes)]
        .filter((name) => !knownTemplateFunctions.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(unknown).toEqual([]);
    const all = new Set([...parsed.values()].flatMap((nodes) => [...functionsCalled(nodes)]));
    for (const name of ['include', 'toYaml', 'nindent', 'quote', 'int64', 'has', 'dict']) {
      expect(all.has(name)).toBe(true);
    }
    expect([
      ...functionsCalled(parseTemplate('{{ toYml .Values.x | nindnt 2 }}', 'probe')),
    ]).toEqual(['toYml', 'nindnt']);
  });

  const yamlTemplates = templateFiles.filter((f) => f.endsWith('.yaml'));
  it.each(yamlTemplates)('%s is well-formed YAML with either branch of every condition', (file) => {
    for (const decision of [true, false]) {
      const { text } = renderSkeleton(parsed.get(file)!, () => decision);
      const docs = parseAllDocuments(text);
      for (const doc of docs) {
        expect(doc.errors.map((e) => e.message)).toEqual([]);
        const object: unknown = doc.toJS();
        if (object === null || object === undefined) continue;
        expect(isObject(object)).toBe(true);
        const resource = object as JsonObject;
        expect(typeof resource.apiVersion).toBe('string');
        expect(typeof resource.kind).toBe('string');
        expect(get(resource, 'metadata', 'name')).toBeDefined();
      }
    }
  });

  function rendered(file: string): JsonObject[] {
    const { text } = renderSkeleton(parsed.get(file)!, () => true);
    return parseAllDocuments(text)
      .map((doc) => doc.toJS() as unknown)
      .filter(isObject);
  }

  it('Deployments: native gRPC probes, liveness apart from readiness, preStop, hardened pod, writable /tmp only, one bundle per service', () => {
    const deployment = readText(path.join(templatesDir, 'deployment.yaml'));
    // The health service names the gRPC kit serves: liveness follows only the process, readiness
    // the backends, so a MongoDB outage takes pods out of the Services without restarting them.
    expect(deployment).toContain(
      `$liveness := dict "grpc" (dict "port" $svc.grpcPort "service" "${LIVENESS_SERVICE}")`,
    );
    expect(deployment).toContain(
      `$readiness := dict "grpc" (dict "port" $svc.grpcPort "service" "${READINESS_SERVICE}")`,
    );
    for (const [probe, check] of [
      ['startupProbe', 'liveness'],
      ['readinessProbe', 'readiness'],
      ['livenessProbe', 'liveness'],
    ]) {
      expect(deployment).toMatch(new RegExp(`${probe}:\\n\\s+\\{\\{- toYaml \\$${check} `));
    }
    expect(deployment).toContain('args: ["dist/apps/{{ $name }}-service/main.js"]');
    const [doc] = rendered('deployment.yaml');
    expect(doc.kind).toBe('Deployment');
    const pod = asObject(get(doc, 'spec', 'template', 'spec'), 'pod spec');
    expect(pod.terminationGracePeriodSeconds).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    const container = asObject((pod.containers as JsonObject[])[0], 'container');
    expect(get(container, 'lifecycle', 'preStop', 'exec', 'command')).toEqual(
      expect.arrayContaining(['sleep']),
    );
    const volumes = pod.volumes as JsonObject[];
    expect(volumes.find((v) => v.name === 'tmp')).toMatchObject({ emptyDir: {} });
    expect(container.volumeMounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'tmp', mountPath: '/tmp' })]),
    );
    // The hardening itself lives in values (and the schema pins it).
    expect(values.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(values.podSecurityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('terminationGracePeriodSeconds exceeds preStop sleep + SHUTDOWN_GRACE_MS', () => {
    const helpers = readText(path.join(templatesDir, '_helpers.tpl'));
    expect(helpers).toContain(
      'add $s.preStopSleepSeconds (div (add $s.graceMs 999) 1000) $s.closeMarginSeconds',
    );
    const shutdown = asObject(values.shutdown, 'shutdown');
    const pre = Number(shutdown.preStopSleepSeconds);
    const graceMs = Number(shutdown.graceMs);
    const computed = pre + Math.floor((graceMs + 999) / 1000) + Number(shutdown.closeMarginSeconds);
    expect(computed * 1000).toBeGreaterThan(pre * 1000 + graceMs);
    // and the schema keeps the margin positive
    expect(errorsOf(helmMerge(values, { shutdown: { closeMarginSeconds: 0 } }))).not.toEqual([]);
  });

  it('Services: a ClusterIP one and a headless one (clusterIP: None) for round_robin', () => {
    const [clusterIp, headless] = rendered('service.yaml');
    expect(clusterIp.kind).toBe('Service');
    expect(get(clusterIp, 'spec', 'type')).toBe('ClusterIP');
    expect(get(headless, 'spec', 'clusterIP')).toBe('None');
    expect(readText(path.join(templatesDir, 'service.yaml'))).toContain(
      '{{ include "trellis.componentName" $ctx }}-headless',
    );
  });

  it('NetworkPolicy: ingress only from callers, egress to DNS, backends and callees', () => {
    const [policy] = rendered('networkpolicy.yaml');
    expect(policy.kind).toBe('NetworkPolicy');
    expect(get(policy, 'spec', 'policyTypes')).toEqual(['Ingress', 'Egress']);
    const text = readText(path.join(templatesDir, 'networkpolicy.yaml'));
    expect(text).toContain('has $name $callerSvc.calls');
    expect(text).toContain('range $callee := $svc.calls');
    const services = asObject(values.services, 'services');
    expect(get(services, 'notification', 'calls')).toEqual(['job']);
    expect(get(services, 'account', 'calls')).toEqual([]);
    expect(get(services, 'job', 'calls')).toEqual([]);
  });

  it('NOTES.txt shows kubectl port-forward and grpcurl for each service', () => {
    const notes = readText(path.join(templatesDir, 'NOTES.txt'));
    expect(notes).toMatch(/kubectl -n .* port-forward svc\//);
    expect(notes).toContain('grpcurl -plaintext 127.0.0.1:{{ $svc.grpcPort }} list');
    expect(notes).toContain('grpc.health.v1.Health/Check');
  });
});

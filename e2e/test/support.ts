import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CompatServiceDefinition } from 'nice-grpc';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { captureLogger } from '@trellis/platform/testing';
import type { Logger } from '@trellis/platform/logging';
import type { Devstack, DevstackOptions } from '@trellis/devstack';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const workspaceRoot = join(__dirname, '..', '..');
const bufBinary = join(workspaceRoot, 'node_modules', '.bin', 'buf');

export interface E2eSystem {
  devstack: Devstack;
  spans: InMemorySpanExporter;
  logs: Array<Record<string, unknown>>;
  rawLogs: string[];
  /** A client made with the platform kit (deadline, trace propagation), closed by stop(). */
  client<D extends CompatServiceDefinition>(
    definition: D,
    address: string,
  ): GrpcClientHandle<D>['client'];
  stop(): Promise<void>;
}

/**
 * The system as `npm start` runs it (embedded servers and all three services in one process),
 * on free ports and a throwaway data directory (or `dataDir`, to start again on kept data), with
 * spans and log lines captured.
 */
export async function startSystem(
  options: Omit<DevstackOptions, 'ports'> = {},
): Promise<E2eSystem> {
  const spans = new InMemorySpanExporter();
  const telemetry: Telemetry = startTelemetry({
    serviceName: 'trellis-e2e',
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const logs: Array<Record<string, unknown>> = [];
  const rawLogs: string[] = [];
  const loggers = new Map<string, Logger>();
  const loggerFor = (service: string) => {
    if (!loggers.has(service)) {
      loggers.set(service, captureLogger(service, { lines: logs, raw: rawLogs }).logger);
    }
    return loggers.get(service);
  };
  const { startDevstack } = await import('@trellis/devstack');
  const devstack = await startDevstack({
    ...options,
    ports: 'ephemeral',
    dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'trellis-e2e-')),
    env: { ...options.env, LOG_LEVEL: 'debug' },
    loggerFor,
  });
  const handles: Array<{ close(): void }> = [];
  return {
    devstack,
    spans,
    logs,
    rawLogs,
    client(definition, address) {
      const handle = createGrpcClient(definition, { address, maxAttempts: 1 });
      handles.push(handle);
      return handle.client;
    },
    async stop() {
      handles.forEach((h) => h.close());
      await devstack.stop();
      await telemetry.shutdown();
    },
  };
}

/**
 * The ```sh blocks of a markdown file (relative to the workspace root) between
 * `<!-- {marker}:start -->` and `<!-- {marker}:end -->`, in order: what a reader pastes.
 */
export function markedShellBlocks(file: string, marker: string): string[] {
  const text = readFileSync(join(workspaceRoot, file), 'utf8');
  const start = text.indexOf(`<!-- ${marker}:start -->`);
  const end = text.indexOf(`<!-- ${marker}:end -->`);
  if (start < 0 || end < start) throw new Error(`${file} has no ${marker}:start/end markers`);
  const blocks = [...text.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0)
    throw new Error(`${file} has no sh blocks between its ${marker} markers`);
  return blocks;
}

/**
 * The documented fixed ports (gRPC 50051-50053, mailbox 8025, notification HTTP 8053) → the test
 * system's free ones.
 */
export function documentedPorts(system: E2eSystem): Record<string, string> {
  const { endpoints } = system.devstack;
  const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);
  return {
    '50051': port(endpoints.account),
    '50052': port(endpoints.job),
    '50053': port(endpoints.notification),
    ...(endpoints.mailboxUrl ? { '8025': port(endpoints.mailboxUrl) } : {}),
    '8053': port(endpoints.notificationHttpUrl),
  };
}

/**
 * `grpcurl` for README examples, played by `buf curl` through server reflection only: same
 * method, same JSON body, the README's fixed ports mapped to the test system's free ones. Each
 * call that succeeds appends its method to the file `$GRPCURL_CALLS` names, if set.
 */
function grpcurlShim(ports: Record<string, string>): string {
  const map = Object.entries(ports)
    .map(([from, to]) => `[${from}]=${to}`)
    .join(' ');
  return `
declare -A TRELLIS_PORTS=(${map})
grpcurl() {
  local data="" headers=() rest=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -plaintext) shift ;;
      -d) data="$2"; shift 2 ;;
      -H) headers+=(-H "$2"); shift 2 ;;
      -*) echo "grpcurl shim: unsupported flag $1" >&2; return 2 ;;
      *) rest+=("$1"); shift ;;
    esac
  done
  local host="\${rest[0]%:*}" port="\${rest[0]##*:}"
  local address="$host:\${TRELLIS_PORTS[$port]:-$port}"
  local call=(${bufBinary} curl --protocol grpc --http2-prior-knowledge "\${headers[@]}")
  if [ "\${rest[1]}" = "list" ]; then
    if [ -n "\${rest[2]:-}" ]; then "\${call[@]}" --list-methods "http://$address" | grep "^\${rest[2]}/" | sed 's#/#.#'
    else "\${call[@]}" --list-services "http://$address"; fi
    return
  fi
  local method="\${rest[1]}" status=0
  "\${call[@]}" \${data:+-d "$data"} "http://$address/$method" || status=$?
  if [ "$status" -eq 0 ] && [ -n "\${GRPCURL_CALLS:-}" ]; then echo "$method" >> "$GRPCURL_CALLS"; fi
  return "$status"
}
curl() {
  local args=()
  for arg in "$@"; do
    for port in "\${!TRELLIS_PORTS[@]}"; do arg="\${arg//localhost:$port/localhost:\${TRELLIS_PORTS[$port]}}"; done
    args+=("$arg")
  done
  command curl "\${args[@]}"
}
`;
}

export interface ShellRun {
  stdout: string;
  /** The gRPC methods (`package.Service/Method`) called successfully, in call order. */
  calls: string[];
}

/**
 * Runs README shell blocks as one pasted script (`set -euo pipefail`: the first failing line
 * fails the run) with the grpcurl shim, against `ports`. Rejects with stderr and the tail of stdout.
 */
export async function runShellBlocks(
  blocks: string[],
  ports: Record<string, string>,
): Promise<ShellRun> {
  const callsFile = join(mkdtempSync(join(tmpdir(), 'trellis-grpcurl-')), 'calls');
  writeFileSync(callsFile, '');
  const script = ['set -euo pipefail', grpcurlShim(ports), ...blocks].join('\n');
  const { code, stdout, stderr } = await new Promise<{
    code: number;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    const child = spawn('bash', ['-c', script], {
      cwd: workspaceRoot,
      env: { ...process.env, GRPCURL_CALLS: callsFile },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (exit) => resolve({ code: exit ?? 1, stdout: out, stderr: err }));
  });
  if (code !== 0) {
    throw new Error(
      `script failed (exit ${code}):\n${stderr}\n--- stdout ---\n${stdout.slice(-4000)}`,
    );
  }
  const calls = readFileSync(callsFile, 'utf8').split('\n').filter(Boolean);
  return { stdout, calls };
}

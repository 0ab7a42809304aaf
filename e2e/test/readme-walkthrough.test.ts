import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSystem, type E2eSystem } from './support';

const workspaceRoot = join(__dirname, '..', '..');
const bufBinary = join(workspaceRoot, 'node_modules', '.bin', 'buf');

/** The shell blocks of the README's walkthrough, in order: what a reader pastes line by line. */
function walkthroughBlocks(): string[] {
  const readme = readFileSync(join(workspaceRoot, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('<!-- walkthrough:start -->'),
    readme.indexOf('<!-- walkthrough:end -->'),
  );
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0)
    throw new Error('README has no walkthrough blocks between the walkthrough markers');
  return blocks;
}

/**
 * `grpcurl` for the walkthrough, played by `buf curl` through server reflection only: same
 * method, same JSON body, the README's fixed ports mapped to the test system's free ones.
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
  local method="\${rest[1]}"
  "\${call[@]}" \${data:+-d "$data"} "http://$address/$method"
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

function runBash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: workspaceRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let system: E2eSystem;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.stop());

describe('the README walkthrough, executed as written', () => {
  it('every command succeeds against the running system, and the mail it promises arrives', async () => {
    const { endpoints } = system.devstack;
    const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);
    const ports = {
      '50051': port(endpoints.account),
      '50052': port(endpoints.job),
      '50053': port(endpoints.notification),
      '8025': port(endpoints.mailboxUrl!),
    };
    const script = ['set -euo pipefail', grpcurlShim(ports), ...walkthroughBlocks()].join('\n');
    const result = await runBash(script);
    if (result.code !== 0) {
      throw new Error(
        `walkthrough failed (exit ${result.code}):\n${result.stderr}\n--- stdout ---\n${result.stdout.slice(-4000)}`,
      );
    }
    const sink = system.devstack.smtp!;
    // Welcome mails for both accounts and a receipt for each side of the transfer.
    await sink.waitForMessages((m) => m.envelope.to.includes('alice@example.com'), {
      count: 2,
      timeoutMs: 30_000,
    });
    await sink.waitForMessages((m) => m.envelope.to.includes('bob@example.com'), {
      count: 2,
      timeoutMs: 30_000,
    });
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface BufCurlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const workspaceRoot = join(__dirname, '..', '..', '..', '..');
const bufBinary = join(workspaceRoot, 'node_modules', '.bin', 'buf');

/**
 * Runs `buf curl` (a client nobody here wrote) against a plaintext gRPC server through server
 * reflection only, the way a person would with grpcurl. `args` follow `buf curl`'s own flags.
 */
export function bufCurl(args: string[], timeoutMs = 20_000): Promise<BufCurlResult> {
  return new Promise((resolve) => {
    execFile(
      bufBinary,
      ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
      { timeout: timeoutMs },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ exitCode, stdout, stderr });
      },
    );
  });
}

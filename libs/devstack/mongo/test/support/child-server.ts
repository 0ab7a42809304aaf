/** Runs the standalone devstack server (src/main.ts) in a child process via tsx, as `npm start` would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../../../..');

export interface ChildServer {
  uri: string;
  process: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  // `node --import tsx` rather than the tsx CLI: the CLI runs the script in a grandchild process,
  // and SIGKILL must hit the server itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'libs/devstack/mongo/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DEVSTACK_MONGO_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`child server did not start in 20 s; stderr: ${stderr}`)),
      20_000,
    );
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/MONGODB_URI=(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child server exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { uri, process: child, exited };
}

import { spawn } from 'node:child_process';
import { join } from 'node:path';

const workspaceRoot = join(__dirname, '..', '..', '..', '..');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'fixtures', 'log-then-exit.ts')],
    { cwd: workspaceRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

describe('the default stdout destination', () => {
  it.each([
    ['process.exit right after logging', 'exit', 0],
    ['an uncaught exception right after logging', 'throw', 1],
    ['the event loop ending', 'end', 0],
  ])(
    'loses no line at %s',
    async (_what, exit, expectedCode) => {
      const { code, stdout } = await run({ LINES: '5000', EXIT: exit });
      expect(code).toBe(expectedCode);
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { i: number });
      expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    },
    30_000,
  );
});

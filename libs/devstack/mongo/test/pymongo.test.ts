/**
 * A client nobody here wrote: Debian's python3-pymongo (apt-get install python3-pymongo), run with
 * /usr/bin/python3 (a pyenv python3 on PATH cannot see Debian packages).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTarget, type Target, uniqueDbName } from './support/target';

const run = promisify(execFile);
let target: Target;

beforeAll(async () => {
  target = await startTarget();
});

afterAll(async () => {
  await target?.stop();
});

it('pymongo inserts, queries and runs with_transaction', async () => {
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(__dirname, 'pymongo_smoke.py'), target.uri, uniqueDbName('pymongo')],
    {
      timeout: 30_000,
    },
  );
  expect(stdout.trim()).toBe('OK');
});

import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineWriter } from './line-writer';

function tempFile(): { path: string; fd: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'line-writer-')), 'out.log');
  return { path, fd: openSync(path, 'a') };
}

describe('LineWriter', () => {
  it('writes every line, in order, batching those logged while a write is in flight', async () => {
    const { path, fd } = tempFile();
    const writer = new LineWriter(fd);
    const expected: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const line = `{"i":${i},"msg":"héllo ✓"}\n`;
      expected.push(line);
      writer.write(line);
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve, reject) =>
      writer.flush((err) => (err ? reject(err) : resolve())),
    );
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe(expected.join(''));
  });

  it('flushSync writes what is pending at once', async () => {
    const { path, fd } = tempFile();
    const writer = new LineWriter(fd);
    writer.write('a\n');
    writer.write('b\n');
    writer.write('c\n');
    writer.flushSync();
    // 'a' went out in the asynchronous write started by the first line; the rest now.
    expect(readFileSync(path, 'utf8')).toContain('b\nc\n');
    await new Promise((resolve) => writer.flush(resolve));
    expect(readFileSync(path, 'utf8')).toBe('a\nb\nc\n');
    closeSync(fd);
  });

  it('calls flush callbacks at once when nothing is pending', async () => {
    const { fd } = tempFile();
    const writer = new LineWriter(fd);
    await new Promise<void>((resolve) => writer.flush(() => resolve()));
    closeSync(fd);
  });
});

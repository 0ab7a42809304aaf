import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const workspaceRoot = join(__dirname, '..', '..', '..', '..');

/**
 * In a child process: the exporter loads its HTTP agent with a dynamic import(), which jest's VM
 * refuses; the child runs it as `npm start` and the services do.
 */
function exportOneSpan(endpoint: string): Promise<{ stdout: string; stderr: string }> {
  const script = `
    const { trace } = require('@opentelemetry/api');
    const { startTelemetry } = require(${JSON.stringify(join(__dirname, 'start-telemetry.ts'))});
    const telemetry = startTelemetry({ serviceName: 'otlp-export-test', otlpEndpoint: ${JSON.stringify(endpoint)} });
    trace.getTracer('test').startSpan('exported-span').end();
    telemetry.shutdown().then(() => console.log('shut down'));
  `;
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--require', 'tsx/cjs', '-e', script],
      { cwd: workspaceRoot, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
    ),
  );
}

describe('OTLP export', () => {
  it('sends finished spans to <endpoint>/v1/traces as OTLP protobuf, flushed at shutdown', async () => {
    const received: Array<{ url?: string; type?: string; body: Buffer }> = [];
    const collector = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          url: req.url,
          type: req.headers['content-type'],
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    try {
      const child = await exportOneSpan(`http://127.0.0.1:${port}/`);
      expect(child.stdout).toContain('shut down');

      expect(received).toHaveLength(1);
      expect(received[0].url).toBe('/v1/traces');
      expect(received[0].type).toBe('application/x-protobuf');
      const body = received[0].body.toString('latin1');
      expect(body).toContain('exported-span');
      expect(body).toContain('otlp-export-test');
    } finally {
      collector.close();
    }
  });
});

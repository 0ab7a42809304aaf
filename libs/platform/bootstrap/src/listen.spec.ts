import { createServer } from 'node:http';
import { listenOn } from './listen';

describe('listenOn', () => {
  it('resolves with the bound port and a dialable host, and rejects a taken port with the listen error', async () => {
    const first = createServer();
    const bound = await listenOn(first, 0, '0.0.0.0');
    expect(bound.port).toBeGreaterThan(0);
    expect(bound.host).toBe('127.0.0.1');
    const second = createServer();
    await expect(listenOn(second, bound.port, '0.0.0.0')).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    await new Promise<void>((resolve) => first.close(() => resolve()));
  });
});

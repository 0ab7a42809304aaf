/**
 * Where the compatibility suite runs. `MONGODB_URI` unset: a devstack server started in-process
 * (one per test file, test commands enabled like a test mongod). Set: that real MongoDB replica set
 * (started with enableTestCommands for the fail-point tests), with the very same assertions.
 * Every test uses its own database name, so files and tests never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { type MongoDevServer, startMongoDevServer } from '../../src';

export interface Target {
  uri: string;
  /** The in-process devstack server, or null against a real MongoDB. */
  devstack: MongoDevServer | null;
  stop(): Promise<void>;
}

export const externalUri = process.env.MONGODB_URI;
export const usingDevstack = externalUri === undefined || externalUri === '';

export async function startTarget(): Promise<Target> {
  if (!usingDevstack)
    return { uri: externalUri as string, devstack: null, stop: async () => undefined };
  const devstack = await startMongoDevServer({
    ttlMonitorIntervalMs: 100,
    enableTestCommands: true,
  });
  return { uri: devstack.uri, devstack, stop: () => devstack.stop() };
}

export async function connect(uri: string, options: MongoClientOptions = {}): Promise<MongoClient> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, ...options });
  await client.connect();
  return client;
}

/** A database name no other test uses. */
export function uniqueDbName(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. No blind sleeps. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The error `promise` rejects with (for asserting on its class and fields); fails if it resolves. */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail');
}

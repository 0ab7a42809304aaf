/**
 * Where the compatibility suite runs. `MONGODB_URI` unset: a devstack server started in-process
 * (one per test file, test commands enabled like a test mongod). Set: that real MongoDB replica set
 * (started with enableTestCommands for the fail-point tests), with the very same assertions.
 * Every test uses its own database name, so files and tests never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { type MongoDevServer, type MongoDevServerOptions, startMongoDevServer } from '../../src';

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
  return startDevstackTarget();
}

/** An in-process devstack server, whatever MONGODB_URI says. */
export async function startDevstackTarget(
  options: Pick<MongoDevServerOptions, 'maxWireVersion'> = {},
): Promise<Target> {
  const devstack = await startMongoDevServer({
    ttlMonitorIntervalMs: 100,
    enableTestCommands: true,
    ...options,
  });
  return { uri: devstack.uri, devstack, stop: () => devstack.stop() };
}

/**
 * The target for tests of a MongoDB 8.0 feature: MONGODB_URI when that server has it, else (a
 * real 7.0, as in CI) the in-process devstack, which presents 8.0.
 */
export async function start80Target(): Promise<Target> {
  const target = await startTarget();
  if (!target.devstack) {
    const probe = await connect(target.uri);
    try {
      const { maxWireVersion } = await probe.db('admin').command({ hello: 1 });
      if (Number(maxWireVersion) >= 25) return target;
    } finally {
      await probe.close();
    }
  }
  return target.devstack ? target : startDevstackTarget();
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

/**
 * Connections to `target` for a test file (opened before its tests, closed after): `client` and
 * `other` (a second client, e.g. for a concurrent transaction), and `freshDb(label)`, a database
 * of the test's own, dropped after each test.
 */
export function useTarget(start: () => Promise<Target> = startTarget) {
  const state = {} as { target: Target; client: MongoClient; other: MongoClient };
  const dbs: Db[] = [];
  beforeAll(async () => {
    state.target = await start();
    state.client = await connect(state.target.uri);
    state.other = await connect(state.target.uri);
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.dropDatabase()));
  });
  afterAll(async () => {
    await state.client?.close();
    await state.other?.close();
    await state.target?.stop();
  });
  return Object.assign(state, {
    freshDb(label: string): Db {
      const db = state.client.db(uniqueDbName(label));
      dbs.push(db);
      return db;
    },
  });
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

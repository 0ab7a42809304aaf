import { KafkaJSConnectionError, type ISocketFactory } from 'kafkajs';

interface ConnectionInternals {
  host: string;
  port: number;
  socket?: { destroy(): void } | null;
  socketFactory: ISocketFactory;
  rejectRequests(error: Error): void;
  disconnect(): Promise<void>;
  send(protocolRequest: { request: { apiKey: number } }): Promise<unknown>;
}

/** Kafka's Fetch API key. */
const FETCH = 1;

/**
 * Lets a consumer stop without waiting out the Fetch it has parked on the broker.
 *
 * kafkajs 2.2.4's `consumer.disconnect()` waits for the consumer's in-flight Fetch to return, and
 * a broker holds an empty Fetch for the consumer's `maxWaitTimeInMs`: a long wait, which an idle
 * system wants (fewer empty fetches), would hold up every shutdown by as much. kafkajs sends
 * Fetches on a connection of their own per broker (its ConnectionPool's second connection), apart
 * from the group's Heartbeat, OffsetCommit and LeaveGroup. So at stop the consumer's parked Fetch
 * is answered empty here, as the broker would at the end of its wait (the fetch loop sees it is
 * stopping and ends), and its connection is closed, which makes a real broker drop the Fetch; the
 * LeaveGroup goes out on the group's connection as before.
 *
 * The consumer must be made by a Kafka client given `socketFactory`: that is how its connections
 * are told apart from other clients'.
 */
export class FetchAborter {
  /** The connections of this client with a Fetch in flight. */
  private readonly fetching = new Set<ConnectionInternals>();
  private aborted = false;
  private answerAborted: () => void = () => undefined;
  /** Settles when abort() is called. */
  private readonly abortedSignal = new Promise<void>((resolve) => (this.answerAborted = resolve));
  readonly socketFactory: ISocketFactory;

  constructor(inner: ISocketFactory) {
    patchConnections();
    // A distinct function per aborter: connections keep the factory they were made with.
    this.socketFactory = (args) => inner(args);
    aborters.set(this.socketFactory, this);
  }

  /** Answers the Fetches in flight now, and any sent later, empty; closes their connections. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.answerAborted();
    for (const connection of this.fetching) close(connection);
    this.fetching.clear();
  }

  /** @internal The Fetch's answer: the broker's, or an empty one once aborted. */
  fetch(connection: ConnectionInternals, send: () => Promise<unknown>): Promise<unknown> {
    // A fetch loop that began its turn before the stop would otherwise park one more Fetch.
    if (this.aborted) return Promise.resolve(emptyFetch());
    this.fetching.add(connection);
    const sent = send();
    const done = () => this.fetching.delete(connection);
    sent.then(done, done);
    return Promise.race([sent, this.abortedSignal.then(emptyFetch)]);
  }
}

/** A Fetch response (as kafkajs's parser returns it) with no records. */
function emptyFetch() {
  return { throttleTime: 0, errorCode: 0, responses: [] };
}

function close(connection: ConnectionInternals): void {
  connection.rejectRequests(
    new KafkaJSConnectionError('Fetch aborted: the consumer is stopping', {
      broker: `${connection.host}:${connection.port}`,
    }),
  );
  const socket = connection.socket;
  // kafkajs's own path for a connection the broker closed; the socket is then destroyed so that
  // the broker's late answer to the parked Fetch is not read.
  void connection.disconnect().finally(() => socket?.destroy());
}

const aborters = new WeakMap<ISocketFactory, FetchAborter>();
let patched = false;

function patchConnections(): void {
  if (patched) return;
  patched = true;
  // kafkajs keeps Connection internal; the module is the one its connection pools use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Connection = require('kafkajs/src/network/connection') as {
    prototype: ConnectionInternals;
  };
  const send = Connection.prototype.send;
  Connection.prototype.send = function (this: ConnectionInternals, protocolRequest) {
    const aborter = aborters.get(this.socketFactory);
    if (!aborter || protocolRequest.request.apiKey !== FETCH)
      return send.call(this, protocolRequest);
    return aborter.fetch(this, () => send.call(this, protocolRequest));
  };
}

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { type ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { createDevPki, type DevPki } from '@trellis/devstack/pki';
import { captureLogger } from '@trellis/platform/testing';
import {
  callerIdentityOf,
  callerOf,
  channelTlsCredentials,
  createGrpcClient,
  createGrpcServer,
  serverTlsCredentials,
  ServiceTokenSigner,
  ServiceTokenVerifier,
  type GrpcServer,
} from '../src';
import {
  EchoServiceDefinition,
  type EchoServiceImplementation,
} from './gen/trellis/testing/v1/echo';

const descriptorSet = readFileSync(join(__dirname, 'gen', 'echo.binpb'));
const AUDIENCE = 'echo-service';

let pki: DevPki;
let server: GrpcServer;
let address: string;
const captured = captureLogger('security-test');

const echoService: EchoServiceImplementation = {
  async echo(request, context) {
    if (request.message === 'who') return { message: callerIdentityOf(context) };
    return { message: `${request.message} (caller ${callerOf(context)})` };
  },
  async fail() {
    return {};
  },
};

beforeAll(async () => {
  pki = await createDevPki(mkdtempSync(join(tmpdir(), 'pki-')), [
    'echo-service',
    'caller',
    'admin',
    'intruder',
  ]);
  const own = pki.identities['echo-service'];
  server = createGrpcServer({
    logger: captured.logger,
    descriptorSet,
    maxReceiveMessageBytes: 64 * 1024,
    credentials: serverTlsCredentials(
      { caFile: pki.caFile, certFile: own.certFile, keyFile: own.keyFile },
      true,
    ),
    auth: {
      verifier: new ServiceTokenVerifier(AUDIENCE, pki.jwks),
      policy: {
        'trellis.testing.v1.EchoService/Echo': ['caller', 'admin'],
        'trellis.testing.v1.EchoService/Fail': ['admin'],
      },
      requireCertificateMatch: true,
    },
  });
  server.add(EchoServiceDefinition, echoService);
  address = `localhost:${await server.listen('127.0.0.1:0')}`;
  server.setServing(true);
});
afterAll(() => server.shutdown());

function clientFor(name: string | undefined, token?: { as: string; audience?: string }) {
  const identity = name ? pki.identities[name] : undefined;
  return createGrpcClient(EchoServiceDefinition, {
    address,
    maxAttempts: 1,
    defaultDeadlineMs: 5_000,
    credentials: channelTlsCredentials({
      caFile: pki.caFile,
      certFile: identity?.certFile,
      keyFile: identity?.keyFile,
    }),
    serviceToken: token
      ? {
          signer: new ServiceTokenSigner(token.as, pki.identities[token.as].tokenPrivateKeyPem),
          audience: token.audience ?? AUDIENCE,
        }
      : undefined,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<Status> {
  try {
    await promise;
    return Status.OK;
  } catch (err) {
    return (err as ClientError).code;
  }
}

describe('mTLS, service tokens and per-method authorization over real TLS sockets', () => {
  it('a client without a certificate cannot connect', async () => {
    const { client, close } = clientFor(undefined, { as: 'caller' });
    expect(await codeOf(client.echo({ message: 'hi' }))).toBe(Status.UNAVAILABLE);
    close();
  });

  it('a certificate but no token → UNAUTHENTICATED', async () => {
    const { client, close } = clientFor('caller');
    expect(await codeOf(client.echo({ message: 'hi' }))).toBe(Status.UNAUTHENTICATED);
    close();
  });

  it('a token for another audience → UNAUTHENTICATED', async () => {
    const { client, close } = clientFor('caller', { as: 'caller', audience: 'account-service' });
    expect(await codeOf(client.echo({ message: 'hi' }))).toBe(Status.UNAUTHENTICATED);
    close();
  });

  it('an expired token → UNAUTHENTICATED', async () => {
    const key = await importPKCS8(pki.identities.caller.tokenPrivateKeyPem, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'caller' })
      .setIssuer('trellis')
      .setSubject('caller')
      .setAudience(AUDIENCE)
      .setIssuedAt(now - 600)
      .setExpirationTime(now - 300)
      .sign(key);
    const channel = createChannel(
      address,
      channelTlsCredentials({
        caFile: pki.caFile,
        certFile: pki.identities.caller.certFile,
        keyFile: pki.identities.caller.keyFile,
      }),
    );
    const client = createClient(EchoServiceDefinition, channel);
    expect(
      await codeOf(
        client.echo(
          { message: 'hi' },
          {
            metadata: Metadata({
              authorization: `Bearer ${expired}`,
            }),
          },
        ),
      ),
    ).toBe(Status.UNAUTHENTICATED);
    channel.close();
  });

  it('a token whose subject does not match the client certificate → UNAUTHENTICATED', async () => {
    const { client, close } = clientFor('caller', { as: 'admin' });
    expect(await codeOf(client.echo({ message: 'hi' }))).toBe(Status.UNAUTHENTICATED);
    close();
  });

  it('a valid identity that the policy does not allow → PERMISSION_DENIED', async () => {
    const intruder = clientFor('intruder', { as: 'intruder' });
    expect(await codeOf(intruder.client.echo({ message: 'hi' }))).toBe(Status.PERMISSION_DENIED);
    intruder.close();
    const caller = clientFor('caller', { as: 'caller' });
    expect(await codeOf(caller.client.fail({ kind: 'x' }))).toBe(Status.PERMISSION_DENIED);
    caller.close();
  });

  it('the allowed caller succeeds and the handler knows who called', async () => {
    const { client, close } = clientFor('caller', { as: 'caller' });
    await expect(client.echo({ message: 'hi' })).resolves.toEqual({
      message: 'hi (caller caller)',
    });
    close();
  });

  it('headers only the server sets cannot be sent by a caller to pose as another service', async () => {
    const { client, close } = clientFor('caller', { as: 'caller' });
    const metadata = Metadata({ 'x-trellis-caller': 'admin', 'x-trellis-peer-san': 'DNS:admin' });
    await expect(client.echo({ message: 'hi' }, { metadata })).resolves.toEqual({
      message: 'hi (caller caller)',
    });
    close();
  });

  it('the caller identity is the verified token subject, whatever headers or connections it uses', async () => {
    const forged = Metadata({ 'x-trellis-identity': 'admin', 'x-caller': 'admin' });
    for (let connection = 0; connection < 2; connection++) {
      const { client, close } = clientFor('caller', { as: 'caller' });
      await expect(client.echo({ message: 'who' }, { metadata: forged })).resolves.toEqual({
        message: 'caller',
      });
      close();
    }
    const access = captured.lines.filter(
      (l) => l.msg === 'rpc' && l['rpc.method'] === '/trellis.testing.v1.EchoService/Echo',
    );
    expect(access.length).toBeGreaterThan(0);
    expect(new Set(access.map((l) => l.caller))).toEqual(new Set(['caller']));
    // A rejection names who it was by its certificate, or by its token once verified.
    const security = captured.lines.filter((l) => l.event === 'security');
    expect(security).toContainEqual(
      expect.objectContaining({ outcome: 'unauthenticated', caller: 'caller' }),
    );
    expect(security).toContainEqual(
      expect.objectContaining({ outcome: 'permission_denied', caller: 'intruder' }),
    );
  });

  it('health stays callable without a token (for probes), still over mTLS', async () => {
    const channel = createChannel(
      address,
      channelTlsCredentials({
        caFile: pki.caFile,
        certFile: pki.identities.intruder.certFile,
        keyFile: pki.identities.intruder.keyFile,
      }),
    );
    const health = createClient(HealthDefinition, channel);
    await expect(health.check({ service: '' })).resolves.toBeDefined();
    channel.close();
  });

  it('an oversized message is rejected with RESOURCE_EXHAUSTED and the server keeps serving', async () => {
    const { client, close } = clientFor('caller', { as: 'caller' });
    expect(await codeOf(client.echo({ message: 'x'.repeat(100 * 1024) }))).toBe(
      Status.RESOURCE_EXHAUSTED,
    );
    await expect(client.echo({ message: 'small' })).resolves.toBeDefined();
    close();
  });

  it('no log line carries a token or a private key; rejections are logged as security events', () => {
    const all = captured.raw.join('\n');
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(all).not.toContain('PRIVATE KEY');
    const events = captured.lines.filter((l) => l.event === 'security');
    expect(events.map((e) => e.outcome)).toEqual(
      expect.arrayContaining(['unauthenticated', 'permission_denied']),
    );
  });
});

describe('service token key rotation', () => {
  it('a verifier holding the old and the new key of one service accepts tokens signed with either', async () => {
    const pkiB = await createDevPki(mkdtempSync(join(tmpdir(), 'pki-rot-')), ['caller']);
    const oldKey = pki.identities.caller;
    const newKey = pkiB.identities.caller;
    const verifier = new ServiceTokenVerifier(AUDIENCE, {
      keys: [oldKey.tokenPublicJwk, newKey.tokenPublicJwk],
    });
    for (const identity of [oldKey, newKey]) {
      const token = await new ServiceTokenSigner('caller', identity.tokenPrivateKeyPem).token(
        AUDIENCE,
      );
      await expect(verifier.verify(token)).resolves.toBe('caller');
    }
    const onlyOld = new ServiceTokenVerifier(AUDIENCE, { keys: [oldKey.tokenPublicJwk] });
    const signedWithNew = await new ServiceTokenSigner('caller', newKey.tokenPrivateKeyPem).token(
      AUDIENCE,
    );
    await expect(onlyOld.verify(signedWithNew)).rejects.toThrow(
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );
  });
});

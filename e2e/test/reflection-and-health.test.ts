import { createChannel, createClient } from 'nice-grpc';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import { ServerReflectionRequest } from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { healthV1, serviceNames } from '@trellis/contracts';
import { LIVENESS_SERVICE, READINESS_SERVICE } from '@trellis/platform/grpc';
import { bufCurl } from '@trellis/platform/testing';
import { startSystem, type E2eSystem } from './support';

let system: E2eSystem;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.stop());

const targets = () => [
  { name: serviceNames.account, address: system.devstack.endpoints.account },
  { name: serviceNames.job, address: system.devstack.endpoints.job },
  { name: serviceNames.notification, address: system.devstack.endpoints.notification },
];

describe('what grpcurl needs: reflection on every server', () => {
  it('lists only the service each port serves (plus health and reflection), and every method of it', async () => {
    for (const { name, address } of targets()) {
      const services = await bufCurl(['--list-services', `http://${address}`]);
      expect(services.stdout.trim().split('\n').sort()).toEqual(
        [
          'grpc.health.v1.Health',
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
          name,
        ].sort(),
      );
      const methods = await bufCurl(['--list-methods', `http://${address}`]);
      expect(
        methods.stdout.split('\n').filter((m) => m.startsWith(`${name}/`)).length,
      ).toBeGreaterThan(3);
    }
  });

  it("does not describe another port's services", async () => {
    for (const { name, address } of targets()) {
      for (const other of targets().filter((t) => t.name !== name)) {
        const call = await bufCurl(['-d', '{}', `http://${address}/${other.name}/GetWhatever`]);
        expect(call.exitCode).not.toBe(0);
        expect(call.stderr).toContain(other.name);
      }
    }
  });

  it("resolves the error details, health and reflection on every port, and no other port's service", async () => {
    const shared = [
      'google.rpc.ErrorInfo',
      'google.rpc.BadRequest',
      'google.rpc.RetryInfo',
      'google.rpc.Status',
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
    ];
    for (const { name, address } of targets()) {
      const others: string[] = targets()
        .map((t) => t.name)
        .filter((n) => n !== name);
      const channel = createChannel(address);
      const reflection = createClient(ServerReflectionService, channel);
      try {
        const symbols = [...shared, name, ...others];
        async function* requests() {
          for (const symbol of symbols)
            yield new ServerReflectionRequest().setFileContainingSymbol(symbol);
        }
        const found = new Map<string, boolean>();
        let i = 0;
        // One response per request, in order.
        for await (const response of reflection.serverReflectionInfo(requests())) {
          found.set(symbols[i++], response.hasFileDescriptorResponse());
        }
        expect(Object.fromEntries(found)).toEqual(
          Object.fromEntries(symbols.map((s) => [s, !others.includes(s)])),
        );
      } finally {
        channel.close();
      }
    }
  });

  it('describes every method: the file holding each service resolves every input and output type', async () => {
    for (const { name, address } of targets()) {
      const channel = createChannel(address);
      const reflection = createClient(ServerReflectionService, channel);
      try {
        const files = new Map<
          string,
          ReturnType<typeof fromBinary<typeof FileDescriptorProtoSchema>>
        >();
        async function* requests() {
          yield new ServerReflectionRequest().setFileContainingSymbol(name);
        }
        // Reflection is a bidi stream; one request returns the service's file and its imports.
        for await (const response of reflection.serverReflectionInfo(requests())) {
          for (const bytes of response
            .getFileDescriptorResponse()
            ?.getFileDescriptorProtoList_asU8() ?? []) {
            const file = fromBinary(FileDescriptorProtoSchema, bytes);
            files.set(file.name, file);
          }
        }
        const messages = new Set<string>();
        for (const file of files.values()) {
          for (const message of file.messageType) messages.add(`.${file.package}.${message.name}`);
        }
        const service = [...files.values()]
          .flatMap((f) => f.service.map((s) => ({ pkg: f.package, s })))
          .find(({ pkg, s }) => `${pkg}.${s.name}` === name);
        expect(service).toBeDefined();
        for (const method of service!.s.method) {
          expect(messages).toContain(method.inputType);
          expect(messages).toContain(method.outputType);
        }
      } finally {
        channel.close();
      }
    }
  });

  it('every server reports SERVING once started: overall, per service, liveness and readiness', async () => {
    for (const { name, address } of targets()) {
      const health = system.client(healthV1.HealthDefinition, address);
      for (const service of ['', name, LIVENESS_SERVICE, READINESS_SERVICE]) {
        await expect(health.check({ service })).resolves.toMatchObject({
          status: healthV1.HealthCheckResponse_ServingStatus.SERVING,
        });
      }
    }
  });
});

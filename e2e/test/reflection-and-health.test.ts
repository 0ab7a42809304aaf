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
  it('lists each service and every method of it', async () => {
    for (const { name, address } of targets()) {
      const services = await bufCurl(['--list-services', `http://${address}`]);
      expect(services.stdout.split('\n')).toEqual(
        expect.arrayContaining([name, 'grpc.health.v1.Health']),
      );
      const methods = await bufCurl(['--list-methods', `http://${address}`]);
      expect(
        methods.stdout.split('\n').filter((m) => m.startsWith(`${name}/`)).length,
      ).toBeGreaterThan(3);
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

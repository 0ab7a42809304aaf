import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { loadDescriptorSet } from '@trellis/contracts';
import {
  documentedPorts,
  markedShellBlocks,
  runShellBlocks,
  startSystem,
  type E2eSystem,
} from './support';

/** Each service README's grpcurl examples, between its `grpcurl-examples` markers. */
const READMES = [
  'apps/notification-service/README.md',
  'apps/account-service/README.md',
  'apps/job-service/README.md',
];

/** Every RPC the protos declare, as `package.Service/Method`, read from the descriptor set. */
function declaredRpcs(): string[] {
  const set = fromBinary(FileDescriptorSetSchema, loadDescriptorSet());
  return set.file
    .filter((file) => file.package.startsWith('trellis.'))
    .flatMap((file) =>
      file.service.flatMap((service) =>
        service.method.map((method) => `${file.package}.${service.name}/${method.name}`),
      ),
    )
    .sort();
}

let system: E2eSystem;
const called = new Set<string>();
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.stop());

describe('the grpcurl examples of the service READMEs, executed as written', () => {
  it.each(READMES)('%s: every line succeeds, and again when pasted a second time', async (file) => {
    const blocks = markedShellBlocks(file, 'grpcurl-examples');
    // One shell, the block pasted twice: the second paste meets what the first one left.
    const { calls } = await runShellBlocks([...blocks, ...blocks], documentedPorts(system));
    calls.forEach((call) => called.add(call));
  });

  // Reads what the runs above recorded: a new RPC without a README example turns this red.
  it('every RPC of the three services has an example that ran successfully', () => {
    const rpcs = declaredRpcs();
    expect([...new Set(rpcs.map((rpc) => rpc.split('/')[0]))]).toEqual([
      'trellis.account.v1.AccountService',
      'trellis.job.v1.JobService',
      'trellis.notification.v1.NotificationService',
    ]);
    expect(rpcs.filter((rpc) => !called.has(rpc))).toEqual([]);
  });
});

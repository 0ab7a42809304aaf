import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { nxProjects, repoRoot } from './support/repo';

// The layer rules of eslint.config.mjs, shown to fire on tiny snippets placed (by file path, not
// on disk) where they would break the shape, and to stay quiet on the legal imports beside them.

/**
 * ESLint loads eslint.config.mjs with a dynamic import(), which jest's CommonJS runtime refuses,
 * so one child process lints every snippet through ESLint's Node API and answers in JSON: per
 * snippet "ruleId: message" lines, and the sourceTag of every depConstraints row.
 */
const runner = `
import { ESLint } from 'eslint';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const { snippets, configFor } = JSON.parse(text);
const eslint = new ESLint({ cwd: process.cwd() });
const reports = [];
for (const { file, code } of snippets) {
  const [result] = await eslint.lintText(code + '\\nexport {};\\n', { filePath: file });
  reports.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
}
const config = await eslint.calculateConfigForFile(configFor);
const rows = config.rules['@nx/enforce-module-boundaries'][1].depConstraints.map((c) => c.sourceTag);
process.stdout.write(JSON.stringify({ reports, rows }));
`;

interface Answer {
  reports: string[][];
  rows: string[];
}

function lintSnippets(snippets: { file: string; code: string }[], configFor: string): Answer {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', runner], {
    cwd: repoRoot,
    input: JSON.stringify({
      snippets: snippets.map((s) => ({ ...s, file: path.join(repoRoot, s.file) })),
      configFor: path.join(repoRoot, configFor),
    }),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (child.status !== 0) throw new Error(`eslint runner exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout) as Answer;
}

const account = 'apps/account-service/src';
const notification = 'apps/notification-service/src';

/** [file, code, what the message says]: each must be exactly one no-restricted-imports error. */
const forbidden: [string, string, string][] = [
  [
    `${account}/domain/x.ts`,
    `import { OpenAccount } from '../app/open-account.command'; void OpenAccount;`,
    'the app layer',
  ],
  [
    `${account}/domain/x.ts`,
    `import type { AccountRepository } from '../app/ports/account.repository.port'; let s: AccountRepository | undefined; void s;`,
    'the app layer',
  ],
  [
    `${account}/domain/x.ts`,
    `import { startAccountService } from '../composition'; void startAccountService;`,
    'the app layer',
  ],
  [
    `${account}/domain/x.ts`,
    `import { accountV1 } from '@trellis/contracts'; void accountV1;`,
    '@trellis/contracts',
  ],
  [
    `${account}/domain/x.ts`,
    `import type { DecodedEvent } from '@trellis/contracts'; let e: DecodedEvent | undefined; void e;`,
    '@trellis/contracts',
  ],
  [
    `${account}/app/x.ts`,
    `import { topics } from '@trellis/contracts'; void topics;`,
    '@trellis/contracts',
  ],
  [
    // No exception list any more: the notification app layer is held to the same rule.
    `${notification}/app/deliver-email.command.ts`,
    `import type { notificationV1 } from '@trellis/contracts'; let e: notificationV1.EmailRequested | undefined; void e;`,
    '@trellis/contracts',
  ],
  [
    `${account}/app/x.ts`,
    `import { MongoClient } from 'mongodb'; void MongoClient;`,
    'adapter package',
  ],
  [
    `${account}/app/x.ts`,
    `import { toOutboxMessage } from '@trellis/platform/messaging'; void toOutboxMessage;`,
    'adapter package',
  ],
  [
    `${account}/app/x.ts`,
    `import { MongoAccountRepository } from '../adapters/mongo/account.repository'; void MongoAccountRepository;`,
    'must not import adapters',
  ],
  [
    `${account}/adapters/mongo/x.ts`,
    `import { toAccountProto } from '../grpc/account.mapper'; void toAccountProto;`,
    'another adapter',
  ],
  [
    `${account}/adapters/mongo/x.ts`,
    `import { toAccountProto } from '../../adapters/grpc/account.mapper'; void toAccountProto;`,
    'another adapter',
  ],
  [
    `${notification}/adapters/jobs/x.ts`,
    `import { startDeliveryConsumers } from '../kafka/delivery.consumers'; void startDeliveryConsumers;`,
    'another adapter',
  ],
  [
    `${notification}/adapters/jobs/x.ts`,
    `import { CAMPAIGN_JOB_TYPE } from '../../app/sync-campaign-from-job.command'; void CAMPAIGN_JOB_TYPE;`,
    'not from a use case file',
  ],
  [
    'apps/job-service/src/adapters/x.ts',
    `import { toJobProto } from './grpc/job.handler'; void toJobProto;`,
    'a particular adapter',
  ],
];

/** [file, code]: legal imports at the same places, no report at all. */
const legal: [string, string][] = [
  [
    `${account}/domain/x.ts`,
    `import { ValidationError } from '@trellis/platform/errors'; import type { Money } from './money'; void ValidationError; let m: Money | undefined; void m;`,
  ],
  [
    `${account}/app/x.ts`,
    `import type { Account } from '../domain/account'; import type { AccountRepository } from './ports/account.repository.port'; let a: Account | AccountRepository | undefined; void a;`,
  ],
  [
    `${account}/adapters/mongo/x.ts`,
    `import type { AccountRepository } from '../../app/ports/account.repository.port'; import { externalAccountId } from '../../domain/ids'; import { toOutboxMessage } from '@trellis/platform/messaging'; import { accountV1 } from '@trellis/contracts'; import { MongoClient } from 'mongodb'; let s: AccountRepository | undefined; void [s, externalAccountId, toOutboxMessage, accountV1, MongoClient];`,
  ],
  [
    'apps/job-service/src/adapters/grpc/x.ts',
    `import { fromDuration } from '../proto-time'; import type { CancelJob } from '../../app/cancel-job.command'; let c: CancelJob | undefined; void [c, fromDuration];`,
  ],
  [
    `${notification}/adapters/jobs/x.ts`,
    `import type { RunCampaign } from '../../app/run-campaign.command'; let r: RunCampaign | undefined; void r;`,
  ],
  [
    `${notification}/adapters/mongo/notification-events.ts`,
    `import { topics } from '@trellis/contracts'; void topics;`,
  ],
  [
    `${account}/app.ts`,
    `import { MongoAccountRepository } from './adapters/mongo/account.repository'; import { OpenAccount } from './app/open-account.command'; void [MongoAccountRepository, OpenAccount];`,
  ],
];

/** [file, code]: project-level imports that @nx/enforce-module-boundaries must refuse. */
const acrossProjects: [string, string][] = [
  [
    `${account}/adapters/mongo/x.ts`,
    `import { startMongoDevServer } from '@trellis/devstack/mongo'; void startMongoDevServer;`,
  ],
  [
    'libs/devstack/smtp/src/x.ts',
    `import { createWorker } from '@trellis/job-worker'; void createWorker;`,
  ],
];

let answer: Answer;
const reports = new Map<string, string[]>();
const reportOf = (file: string, code: string): string[] => reports.get(`${file}\n${code}`)!;

beforeAll(() => {
  const snippets = [...forbidden, ...legal, ...acrossProjects].map(([file, code]) => ({
    file,
    code,
  }));
  answer = lintSnippets(snippets, 'libs/devstack/mongo/src/x.ts');
  snippets.forEach(({ file, code }, i) => reports.set(`${file}\n${code}`, answer.reports[i]));
});

describe('layer rules inside a service', () => {
  it.each(forbidden)('%s: %s is an error (%s)', (file, code, reason) => {
    const messages = reportOf(file, code);
    expect(messages).toEqual([expect.stringMatching(/^no-restricted-imports: /)]);
    expect(messages[0]).toContain(reason);
  });

  it.each(legal)('%s: %s is legal', (file, code) => {
    expect(reportOf(file, code)).toEqual([]);
  });
});

describe('project boundaries', () => {
  it('every scope:* and type:* tag a project carries has its own row in depConstraints', () => {
    const rows = new Set(answer.rows);
    const tags = new Set([...nxProjects().values()].flatMap((p) => p.tags));
    expect(tags.has('scope:devstack')).toBe(true);
    expect([...tags].filter((tag) => !rows.has(tag))).toEqual([]);
  });

  it.each(acrossProjects)('%s: %s is an error', (file, code) => {
    expect(reportOf(file, code)).toEqual([
      expect.stringMatching(/^@nx\/enforce-module-boundaries: /),
    ]);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configShape as accountConfig } from '@trellis/account-service/config';
import { configShape as jobConfig } from '@trellis/job-service/config';
import { configShape as notificationConfig } from '@trellis/notification-service/config';

describe('README configuration reference', () => {
  it('names every environment variable any service reads', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const reference = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('## Conventions'),
    );
    const variables = new Set([
      ...Object.keys(accountConfig),
      ...Object.keys(jobConfig),
      ...Object.keys(notificationConfig),
    ]);
    const missing = [...variables].filter((name) => !reference.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

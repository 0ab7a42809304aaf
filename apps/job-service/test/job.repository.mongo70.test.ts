/**
 * job.repository.test.ts again, against a devstack presenting MongoDB 7.0: no `bulkWrite` command,
 * so each transaction sends its job writes and its outbox document as separate commands.
 */
import { presentMongo70 } from './mongo-version';
import './job.repository.test';

// Read by that file's beforeAll, which runs after both modules have loaded.
presentMongo70();

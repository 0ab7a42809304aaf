/**
 * The name the composition root builds Deposit and Withdraw's batcher by. Transfer posts through
 * its own instance of the same class, so its batches (which never touch an external account) run
 * beside theirs.
 */
export { Postings as ExternalPostings } from './postings';

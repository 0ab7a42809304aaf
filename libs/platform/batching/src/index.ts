export {
  GroupCommit,
  allSucceeded,
  type BatchOutcome,
  type GroupCommitOptions,
} from './group-commit';

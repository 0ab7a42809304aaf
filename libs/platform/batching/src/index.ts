export {
  GroupCommit,
  allSucceeded,
  outcomeOf,
  type BatchOutcome,
  type GroupCommitOptions,
} from './group-commit';

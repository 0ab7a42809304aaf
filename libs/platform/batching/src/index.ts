export {
  GroupCommit,
  allSucceeded,
  outcomeOf,
  type BatchOutcome,
  type GroupCommitOptions,
} from './group-commit';
export { applyChanges, type ChangeRequest } from './apply-changes';

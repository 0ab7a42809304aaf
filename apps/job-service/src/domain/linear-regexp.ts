import type { RegExpEngine } from 'ajv/dist/types';
import { RE2JS } from 're2js';

/**
 * The regular-expression engine of payload schemas (`pattern`, `patternProperties`): RE2, whose
 * matching is linear in the input. With JavaScript's backtracking RegExp a pattern such as
 * `^(a+)+$` took 30 s on a 30-character payload string, blocking every RPC of the process.
 * RE2 has no lookaround or backreferences; a schema using them does not compile.
 */
export const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string) => RE2JS.compile(pattern),
  { code: 'require("re2js").RE2JS.compile' },
);

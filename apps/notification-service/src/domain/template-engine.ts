import Handlebars from 'handlebars';
import { type FieldViolation, ValidationError } from '@trellis/platform/errors';

export const TEMPLATE_SYNTAX = 'NOTIFICATION.TEMPLATE_SYNTAX';
export const TEMPLATE_VARIABLE_MISSING = 'NOTIFICATION.TEMPLATE_VARIABLE_MISSING';

/** What a template renders to. */
export interface RenderedContent {
  subject: string;
  textBody: string;
  htmlBody: string;
}

export interface RenderableTemplate {
  id: string;
  version: number;
  subject: string;
  textBody: string;
  htmlBody: string;
}

type Variables = Record<string, unknown>;
type Compiled = (vars: Variables) => string;

/**
 * Parses every (field, source) pair; a syntax error is INVALID_ARGUMENT, reason TEMPLATE_SYNTAX,
 * with one field violation per broken field whose description gives line and column (1-based).
 */
export function checkTemplateSyntax(sources: Array<[field: string, source: string]>): void {
  const violations: FieldViolation[] = [];
  for (const [field, source] of sources) {
    if (!source) continue;
    try {
      Handlebars.parse(source);
      // precompile also catches what the parser accepts but the compiler refuses (bad block params).
      Handlebars.precompile(source, { strict: true });
    } catch (err) {
      violations.push({ field, description: describeSyntaxError(source, err) });
    }
  }
  if (violations.length > 0) throw new ValidationError(violations, TEMPLATE_SYNTAX);
}

// What jison knows about a parse error. Handlebars' parser throws `new Error(text)` and drops it,
// so the parser's error hook keeps it on the error: the tokens it expected say what is missing.
interface ParseErrorHash {
  text: string;
  token: string | null;
  expected?: string[];
}

class HandlebarsParseError extends Error {
  constructor(
    message: string,
    readonly hash: ParseErrorHash,
  ) {
    super(message);
  }
}

// Same message as before; only the hash is added. Handlebars.Parser is untyped (not in its .d.ts).
(
  Handlebars as unknown as { Parser: { parseError: (m: string, h: ParseErrorHash) => never } }
).Parser.parseError = (message, hash) => {
  throw new HandlebarsParseError(message, hash);
};

const CLOSERS: Record<string, string> = {
  CLOSE: '}}',
  CLOSE_UNESCAPED: '}}}',
  CLOSE_RAW_BLOCK: '}}}}',
};

const TOKEN_WORDS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(CLOSERS).map(([token, text]) => [token, `'${text}'`])),
  CLOSE_SEXPR: "')'",
  OPEN_SEXPR: "'('",
  ID: 'a name',
  STRING: 'a value',
  NUMBER: 'a value',
  BOOLEAN: 'a value',
  UNDEFINED: 'a value',
  NULL: 'a value',
  DATA: 'an @variable',
  SEP: "'.'",
  EQUALS: "'='",
  OPEN_BLOCK_PARAMS: "'as |…|'",
  CLOSE_BLOCK_PARAMS: "'|'",
  OPEN_ENDBLOCK: "'{{/…}}'",
  INVERSE: "'{{else}}'",
  OPEN_INVERSE_CHAIN: "'{{else}}'",
  EOF: 'the end of the template',
};

/**
 * One sentence a template author understands, e.g. `line 1, column 13: expected '}}' to close
 * '{{name', found the end of the template`: where (1-based), what was expected, what was found.
 */
export function describeSyntaxError(source: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof HandlebarsParseError) return describeParseError(source, message, err.hash);
  // Compile errors (Handlebars.Exception) carry the node's position; the column is 0-based.
  const { lineNumber, column } = err as { lineNumber?: number; column?: number };
  const text = message.replace(/ - \d+:\d+$/, '');
  const mismatch = /^(\S+) doesn't match (\S+)$/.exec(text);
  const sentence = mismatch
    ? `'{{#${mismatch[1]}}}' is closed by '{{/${mismatch[2]}}}'; expected '{{/${mismatch[1]}}}'`
    : text;
  return lineNumber === undefined
    ? sentence
    : `line ${lineNumber}, column ${(column ?? 0) + 1}: ${sentence}`;
}

function describeParseError(source: string, message: string, hash: ParseErrorHash): string {
  const caret = caretOffset(source, message);
  const unclosedComment = /\{\{~?!--/.exec(source.slice(0, caret + 1).replace(/--~?\}\}/g, ''));
  if (hash.token === null) {
    // A lexical error: text the tokenizer cannot read, in practice a comment never closed.
    const where = unclosedComment ? source.lastIndexOf(unclosedComment[0], caret) : caret;
    const problem = unclosedComment
      ? "a '{{!--' comment that is never closed with '--}}'"
      : `unreadable text '${source.slice(caret, caret + 10)}'`;
    return `${position(source, where)}: ${problem}`;
  }
  // An unterminated tag makes the tokenizer give up on its last word: that is the end of input.
  const atEnd =
    hash.token === 'EOF' || (hash.token === 'INVALID' && !source.slice(caret).includes('}'));
  const offset = atEnd ? source.length : caret;
  const found = atEnd ? TOKEN_WORDS.EOF : `'${hash.text || source.slice(offset, offset + 1)}'`;
  const expected = (hash.expected ?? []).map((t) => t.replace(/'/g, ''));
  const opening = openTagBefore(source, offset);
  const closers = expected.filter((t) => t in CLOSERS).map((t) => CLOSERS[t]);
  let sentence: string;
  if (opening && (closers.length > 0 || atEnd)) {
    const wanted = opening.startsWith('{{{{') ? '}}}}' : opening.startsWith('{{{') ? '}}}' : '}}';
    const closer = closers.length === 0 || closers.includes(wanted) ? wanted : closers[0];
    sentence = `expected '${closer}' to close '${opening}', found ${found}`;
  } else if (expected.includes('OPEN_ENDBLOCK')) {
    const block = openBlockBefore(source, offset);
    sentence = block
      ? `expected '{{/${block.name}}}' to close '${block.tag}' from line ${block.line}, found ${found}`
      : `expected a closing '{{/…}}', found ${found}`;
  } else if (expected.includes('ID')) {
    sentence = `expected a name or value${opening ? ` after '${opening}'` : ''}, found ${found}`;
  } else {
    const words = [...new Set(expected.map((t) => TOKEN_WORDS[t] ?? t.toLowerCase()))];
    sentence = `expected ${words.join(' or ') || 'something else'}, found ${found}`;
  }
  return `${position(source, offset)}: ${sentence}`;
}

/** `line L, column C` (1-based) of a source offset. */
function position(source: string, offset: number): string {
  const before = source.slice(0, offset).split('\n');
  return `line ${before.length}, column ${[...before[before.length - 1]].length + 1}`;
}

/** The `{{…` tag still open at `offset` (no `}}` since), shortened for a message. */
function openTagBefore(source: string, offset: number): string | undefined {
  const start = source.lastIndexOf('{{', offset - 1);
  if (start < 0) return undefined;
  let from = start;
  while (from > 0 && source[from - 1] === '{') from--;
  const tag = source.slice(from, offset).trimEnd();
  if (tag.includes('}}') || tag.includes('\n')) return undefined;
  return tag.length > 30 ? `${tag.slice(0, 29)}…` : tag;
}

/** The innermost `{{#name …}}` block still open at `offset`. */
function openBlockBefore(
  source: string,
  offset: number,
): { name: string; tag: string; line: number } | undefined {
  const stack: Array<{ name: string; tag: string; line: number }> = [];
  const tags = /\{\{~?\s*(?:([#^])\s*([^\s}~]+)[^}]*|\/\s*([^\s}~]+)\s*~?)\}\}/g;
  const text = source.slice(0, offset);
  for (let m = tags.exec(text); m; m = tags.exec(text)) {
    if (m[2]) {
      const line = text.slice(0, m.index).split('\n').length;
      stack.push({ name: m[2], tag: m[0].length > 30 ? `${m[0].slice(0, 29)}…` : m[0], line });
    } else if (stack.length > 0 && stack[stack.length - 1].name === m[3]) stack.pop();
  }
  return stack[stack.length - 1];
}

// jison's message shows "Parse error on line N:", up to 20 characters of consumed input with
// newlines removed, and a caret under where it stopped: recover that offset in the source.
function caretOffset(source: string, message: string): number {
  const lines = message.split('\n');
  const lineMatch = /on line (\d+)/.exec(lines[0] ?? '');
  const caretLine = lines.findIndex((l) => /^-*\^$/.test(l));
  if (!lineMatch || caretLine < 1) return source.length;
  const line = Number(lineMatch[1]);
  let past = lines[caretLine - 1].slice(0, lines[caretLine].length - 1);
  if (past.startsWith('...')) past = past.slice(3);
  const column = locateColumn(source, line, past);
  const lineStarts = source.split('\n').slice(0, line - 1);
  return Math.min(source.length, lineStarts.reduce((n, l) => n + l.length + 1, 0) + column - 1);
}

// The consumed input jison shows has its newlines removed: find where that text ends on the
// reported line to recover the real column (1-based, in UTF-16 code units of the flat text).
function locateColumn(source: string, line: number, past: string): number {
  const positions: Array<{ line: number; column: number }> = [];
  let flat = '';
  let l = 1;
  let c = 1;
  for (const ch of source) {
    if (ch === '\n') {
      l++;
      c = 1;
      continue;
    }
    flat += ch;
    positions.push({ line: l, column: c });
    c++;
  }
  let from = flat.length;
  for (;;) {
    const index = flat.lastIndexOf(past, from);
    if (index < 0) break;
    const end = index + past.length;
    const at = end < positions.length ? positions[end] : { line: l, column: c };
    if (at.line === line) return at.column;
    from = index - 1;
    if (from < 0) break;
  }
  return past.length + 1;
}

/**
 * Renders templates with Handlebars in strict mode: a variable the template uses but that is
 * absent is INVALID_ARGUMENT, reason TEMPLATE_VARIABLE_MISSING, naming `variables.<path>`.
 * Subject and text are not HTML-escaped; the HTML body is. Compiled functions are cached per
 * template version (versions are immutable).
 */
export class TemplateRenderer {
  private readonly cache = new Map<string, { subject: Compiled; text: Compiled; html: Compiled }>();

  constructor(private readonly maxCached = 500) {}

  render(template: RenderableTemplate, variables: Variables): RenderedContent {
    const compiled = this.compiled(template);
    const run = (fn: Compiled, source: string) => {
      try {
        return fn(variables);
      } catch (err) {
        throw missingVariable(source, err);
      }
    };
    const subject = run(compiled.subject, template.subject)
      .replace(/[\r\n]+/g, ' ')
      .trim();
    return {
      subject,
      textBody: template.textBody ? run(compiled.text, template.textBody) : '',
      htmlBody: template.htmlBody ? run(compiled.html, template.htmlBody) : '',
    };
  }

  private compiled(template: RenderableTemplate) {
    const key = `${template.id}@${template.version}`;
    let entry = this.cache.get(key);
    if (!entry) {
      entry = {
        subject: Handlebars.compile(template.subject, { strict: true, noEscape: true }),
        text: Handlebars.compile(template.textBody || ' ', { strict: true, noEscape: true }),
        html: Handlebars.compile(template.htmlBody || ' ', { strict: true }),
      };
      if (this.cache.size >= this.maxCached) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
      this.cache.set(key, entry);
    }
    return entry;
  }
}

// Strict mode reports only the last path segment and "line:column" of the path expression; the
// AST gives the whole path at that position.
function missingVariable(source: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const match = /^"([^"]+)" not defined in .* - (\d+):(\d+)$/.exec(message);
  if (!match) return err instanceof Error ? err : new Error(message);
  const [, name, line, column] = match;
  const path = pathAt(source, Number(line), Number(column)) ?? name;
  return new ValidationError(
    [{ field: `variables.${path}`, description: `is used by the template but was not supplied` }],
    TEMPLATE_VARIABLE_MISSING,
  );
}

function pathAt(source: string, line: number, column: number): string | undefined {
  let found: string | undefined;
  class Finder extends Handlebars.Visitor {
    override PathExpression(path: hbs.AST.PathExpression): void {
      if (path.loc.start.line === line && path.loc.start.column === column) {
        found = path.original.replace(/^(this\.|\.\/)/, '');
      }
    }
  }
  try {
    new Finder().accept(Handlebars.parse(source));
  } catch {
    return undefined;
  }
  return found;
}

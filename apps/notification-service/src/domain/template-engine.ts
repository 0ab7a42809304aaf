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

/** "line 2, column 11: Expecting 'CLOSE', got 'EOF'" from Handlebars' jison message. */
export function describeSyntaxError(source: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message.split('\n');
  const lineMatch = /on line (\d+)/.exec(lines[0] ?? '');
  const caretLine = lines.findIndex((l) => /^-*\^$/.test(l));
  if (!lineMatch || caretLine < 1) {
    const loc = /- (\d+):(\d+)$/.exec(message);
    const where = loc ? `line ${loc[1]}, column ${Number(loc[2]) + 1}: ` : '';
    return `${where}${message.replace(/ - \d+:\d+$/, '')}`;
  }
  const line = Number(lineMatch[1]);
  const snippet = lines[caretLine - 1];
  let past = snippet.slice(0, lines[caretLine].length - 1);
  if (past.startsWith('...')) past = past.slice(3);
  const column = locateColumn(source, line, past);
  const detail = lines
    .slice(caretLine + 1)
    .join(' ')
    .trim();
  return `line ${line}, column ${column}: ${detail || 'syntax error'}`;
}

// jison shows up to 20 characters of consumed input with newlines removed; find where that text
// ends on the reported line to recover the real column.
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

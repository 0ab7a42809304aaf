// A static reading of Helm (Go text/template) files, enough to check a chart without helm:
// the actions' block structure, the .Values paths they reference, and the YAML that remains when
// each action is replaced by a placeholder (whitespace trim markers honoured).

export interface Action {
  kind: 'action';
  body: string;
  trimLeft: boolean;
  trimRight: boolean;
  line: number;
}
export interface Text {
  kind: 'text';
  value: string;
}
export type Token = Action | Text;

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  let last = 0;
  for (let match = pattern.exec(source); match; match = pattern.exec(source)) {
    if (match.index > last) tokens.push({ kind: 'text', value: source.slice(last, match.index) });
    tokens.push({
      kind: 'action',
      body: match[2].trim(),
      trimLeft: match[1] !== undefined,
      trimRight: match[3] !== undefined,
      line: source.slice(0, match.index).split('\n').length,
    });
    last = match.index + match[0].length;
  }
  if (last < source.length) tokens.push({ kind: 'text', value: source.slice(last) });
  return tokens;
}

const blockKeywords = new Set(['if', 'range', 'with', 'define', 'block']);

export function keywordOf(body: string): string {
  if (body.startsWith('/*')) return 'comment';
  const word = /^[a-z]+/.exec(body)?.[0] ?? '';
  if (word === 'else' || word === 'end' || blockKeywords.has(word) || word === 'template') {
    return word;
  }
  if (/^\$[A-Za-z_][A-Za-z0-9_]*\s*:?=/.test(body)) return 'assign';
  return 'expr';
}

export interface Block {
  kind: 'block';
  keyword: string;
  head: Action;
  body: Node[];
  elseBody: Node[] | null;
  end: Action;
}
export type Node = Token | Block;

/** Nests if/range/with/define/block … else … end; throws on any imbalance. */
export function parseTemplate(source: string, file: string): Node[] {
  const root: Node[] = [];
  const stack: Array<{ block: Omit<Block, 'end'> & { end?: Action }; inElse: boolean }> = [];
  const current = (): Node[] => {
    const top = stack[stack.length - 1];
    if (!top) return root;
    return top.inElse ? (top.block.elseBody as Node[]) : top.block.body;
  };
  for (const token of tokenize(source)) {
    if (token.kind === 'text') {
      current().push(token);
      continue;
    }
    const keyword = keywordOf(token.body);
    if (token.body.includes('{{') || (keyword !== 'comment' && token.body.includes('}}'))) {
      throw new Error(`${file}:${token.line}: malformed action`);
    }
    if (blockKeywords.has(keyword)) {
      stack.push({
        block: { kind: 'block', keyword, head: token, body: [], elseBody: null },
        inElse: false,
      });
    } else if (keyword === 'else') {
      const top = stack[stack.length - 1];
      if (!top || !['if', 'range', 'with'].includes(top.block.keyword)) {
        throw new Error(`${file}:${token.line}: else outside if/range/with`);
      }
      if (top.inElse && !/^else\s+if\b/.test(token.body)) {
        throw new Error(`${file}:${token.line}: second else`);
      }
      // `else if` chains are read as one else branch (enough for a shape check).
      top.block.elseBody = top.block.elseBody ?? [];
      top.inElse = true;
    } else if (keyword === 'end') {
      const top = stack.pop();
      if (!top) throw new Error(`${file}:${token.line}: end without a block`);
      const block: Block = { ...top.block, end: token };
      current().push(block);
    } else {
      current().push(token);
    }
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1].block.head;
    throw new Error(`${file}:${open.line}: '${open.body}' is never closed`);
  }
  return root;
}

/** Every action in document order (block heads and ends included). */
export function actions(nodes: Node[]): Action[] {
  const out: Action[] = [];
  for (const node of nodes) {
    if (node.kind === 'action') out.push(node);
    else if (node.kind === 'block') {
      out.push(node.head, ...actions(node.body));
      if (node.elseBody) out.push(...actions(node.elseBody));
      out.push(node.end);
    }
  }
  return out;
}

/** A values path with `*` for "every child" (through range or index). */
export type ValuesPath = string[];

const valuesRef = /(?:^|[\s($|])(?:\$|\.root)?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
const variableRef = /\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;

function valuesPathOf(expr: string, bindings: Map<string, ValuesPath | null>): ValuesPath | null {
  const trimmed = expr.trim().replace(/^\(|\)$/g, '');
  const index = /^index\s+(\S+)\s+\S+$/.exec(trimmed);
  if (index) {
    const base = valuesPathOf(index[1], bindings);
    return base ? [...base, '*'] : null;
  }
  const direct = /^(?:\$|\.root)?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$/.exec(trimmed);
  if (direct) return direct[1].slice(1).split('.');
  const variable = /^\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(trimmed);
  if (variable) {
    const base = bindings.get(variable[1]);
    if (!base) return null;
    return [...base, ...(variable[2] ? variable[2].slice(1).split('.') : [])];
  }
  return null;
}

export interface ValuesReference {
  path: ValuesPath;
  line: number;
  text: string;
}

/**
 * Every .Values path the actions reference, directly (`.Values.a.b`, `$.Values…`,
 * `.root.Values…`) or through variables bound by `:=`/`=` or `range $k, $v :=` to a values path.
 * A field read from a variable bound to something else is reported as unresolved.
 */
export function valuesReferences(nodes: Node[]): {
  references: ValuesReference[];
  unresolved: ValuesReference[];
} {
  const bindings = new Map<string, ValuesPath | null>();
  const references: ValuesReference[] = [];
  const unresolved: ValuesReference[] = [];
  for (const action of actions(nodes)) {
    const body = action.body;
    if (body.startsWith('/*')) continue;
    const ranged = /^range\s+(?:\$([A-Za-z_]\w*)\s*,\s*)?\$([A-Za-z_]\w*)\s*:=\s*(.+)$/.exec(body);
    const assigned = /^\$([A-Za-z_]\w*)\s*:?=\s*(.+)$/.exec(body);
    if (ranged) {
      const base = valuesPathOf(ranged[3], bindings);
      if (ranged[1]) bindings.set(ranged[1], null);
      bindings.set(ranged[2], base ? [...base, '*'] : null);
    } else if (assigned) {
      bindings.set(assigned[1], valuesPathOf(assigned[2], bindings));
    }
    for (const match of body.matchAll(valuesRef)) {
      references.push({ path: match[1].slice(1).split('.'), line: action.line, text: body });
    }
    for (const match of body.matchAll(variableRef)) {
      const base = bindings.get(match[1]);
      const fields = match[2].slice(1).split('.');
      if (base) references.push({ path: [...base, ...fields], line: action.line, text: body });
      else unresolved.push({ path: [`$${match[1]}`, ...fields], line: action.line, text: body });
    }
  }
  return { references, unresolved };
}

/** Whether `path` exists in `values` (for `*`, under every child). */
export function pathExists(values: unknown, path: ValuesPath): boolean {
  if (path.length === 0) return true;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return false;
  const record = values as Record<string, unknown>;
  const [head, ...rest] = path;
  if (head === '*') {
    const children = Object.values(record);
    return children.length > 0 && children.every((child) => pathExists(child, rest));
  }
  return head in record && pathExists(record[head], rest);
}

/** How a condition is decided when rendering: true/false, or undefined for "both branches". */
export type ConditionPolicy = (head: string) => boolean | undefined;

export interface Rendered {
  text: string;
  /** Placeholder → the expression it stands for. */
  placeholders: Map<string, string>;
}

/**
 * Renders the template with every expression replaced by a unique placeholder (`__tplN`; a
 * `| nindent N` pipeline becomes a mapping entry on a new line indented N), control actions
 * removed, trim markers applied, each range body once, and branches chosen by `policy`.
 */
export function renderSkeleton(nodes: Node[], policy: ConditionPolicy): Rendered {
  const placeholders = new Map<string, string>();
  let out = '';
  let trimNext = false;
  const emit = (text: string): void => {
    let value = text;
    if (trimNext) value = value.replace(/^\s+/, '');
    trimNext = false;
    out += value;
  };
  const onAction = (action: Action, replacement: string): void => {
    if (action.trimLeft) out = out.replace(/\s+$/, '');
    trimNext = false;
    out += replacement;
    trimNext = action.trimRight;
  };
  const walk = (list: Node[]): void => {
    for (const node of list) {
      if (node.kind === 'text') emit(node.value);
      else if (node.kind === 'action') {
        const keyword = keywordOf(node.body);
        if ((keyword !== 'expr' && keyword !== 'template') || /^fail\b/.test(node.body)) {
          onAction(node, '');
          continue;
        }
        const name = `__tpl${placeholders.size}`;
        placeholders.set(name, node.body);
        const indent = /\|\s*nindent\s+(\d+)\s*$/.exec(node.body);
        onAction(node, indent ? `\n${' '.repeat(Number(indent[1]))}${name}: x` : name);
      } else {
        onAction(node.head, '');
        if (node.keyword === 'define') {
          // Named templates render only where included; their bodies are checked on their own.
        } else if (node.keyword === 'range') {
          walk(node.body);
        } else {
          const decision = policy(node.head.body);
          if (decision === undefined || decision) walk(node.body);
          if ((decision === undefined || !decision) && node.elseBody) walk(node.elseBody);
        }
        onAction(node.end, '');
      }
    }
  };
  walk(nodes);
  return { text: out, placeholders };
}

/** The functions the actions call (command position of each pipeline stage or parenthesis). */
export function functionsCalled(nodes: Node[]): Set<string> {
  const called = new Set<string>();
  for (const action of actions(nodes)) {
    let body = action.body;
    if (body.startsWith('/*')) continue;
    body = body.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
    body = body.replace(/^(?:else\s+)?(?:if|with|range|else|end)\b/, '');
    if (/^\s*(define|template|block)\b/.test(body)) continue;
    body = body.replace(/^\s*(?:\$\w+\s*,\s*)?\$\w+\s*:?=/, '');
    for (const stage of body.split(/[|(]/)) {
      const word = /^\s*([A-Za-z_]\w*)/.exec(stage)?.[1];
      if (word) called.add(word);
    }
  }
  return called;
}

/** Go text/template built-ins, Helm's own functions, and the Sprig functions Helm ships. */
export const knownTemplateFunctions = new Set([
  // text/template
  'and',
  'or',
  'not',
  'len',
  'index',
  'slice',
  'print',
  'printf',
  'println',
  'html',
  'js',
  'urlquery',
  'call',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  // Helm
  'include',
  'tpl',
  'required',
  'fail',
  'lookup',
  'toYaml',
  'fromYaml',
  'toJson',
  'fromJson',
  'toToml',
  // Sprig (a subset: the ones a chart commonly uses)
  'default',
  'empty',
  'coalesce',
  'ternary',
  'quote',
  'squote',
  'upper',
  'lower',
  'title',
  'trim',
  'trimSuffix',
  'trimPrefix',
  'trunc',
  'replace',
  'contains',
  'hasPrefix',
  'hasSuffix',
  'indent',
  'nindent',
  'dict',
  'list',
  'append',
  'has',
  'keys',
  'hasKey',
  'get',
  'set',
  'merge',
  'int',
  'int64',
  'float64',
  'toString',
  'add',
  'sub',
  'mul',
  'div',
  'mod',
  'max',
  'min',
  'sha256sum',
  'b64enc',
  'b64dec',
  'join',
  'split',
  'splitList',
  'regexMatch',
  'semverCompare',
  'kindIs',
  'typeOf',
  'deepCopy',
  'until',
  'uniq',
  'sortAlpha',
  'first',
  'last',
  'cat',
]);

import { isUtf8 } from 'node:buffer';
import {
  createFileRegistry,
  fromBinary,
  ScalarType,
  type DescField,
  type DescMessage,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { FieldViolation } from '@trellis/platform/errors';

/**
 * Bounds at the edge: every request is checked against its message descriptor on the raw bytes,
 * before it is decoded and long before a handler looks anything up. One pass over the wire format
 * finds what does not parse (truncated, a length past the end, a bad wire type), strings that are
 * not UTF-8, any string, bytes, repeated or map field over its maximum, and nesting deeper than
 * `MAX_REQUEST_DEPTH`. A request that fails is handed to the handler as a `RejectedRequest`, which
 * the kit answers INVALID_ARGUMENT with the field named (google.rpc.BadRequest). The limits are
 * documented in libs/platform/grpc/README.md ("Request bounds").
 */

/** The maximum of one field; unset members keep the default. */
export interface FieldLimit {
  /** string: Unicode characters (code points); bytes: bytes. Repeated: of each element. */
  maxLength?: number;
  /** repeated: elements; map: entries. */
  maxCount?: number;
  /** map: characters of each key. */
  maxKeyLength?: number;
}

/** Per-field limits by full proto field name, e.g. `trellis.job.v1.FailJobRequest.error_message`. */
export type RequestLimits = Readonly<Record<string, FieldLimit>>;

/**
 * Messages nested in a request, the request itself being 1. A map entry and a
 * `google.protobuf.Value` do not count, so a JSON payload (Struct) nests objects and arrays about
 * 30 levels deep at most.
 */
export const MAX_REQUEST_DEPTH = 32;

/** The defaults, by field kind and name (see `defaultLimit`). */
export const DEFAULT_FIELD_LIMITS = {
  /** `id`, `ids`, `*_id`, `*_ids`, `*_key`, `*_token` (but page tokens), `*_code`, `type(s)`, `service`. */
  identifier: 128,
  /** `page_token`: an opaque cursor this service issued. */
  pageToken: 1024,
  /** `email`, `*_email`, `to`, `cc`, `recipient`: an address (RFC 5321: 64 + 1 + 255). */
  email: 320,
  /** `body`, `*_body`: template and message bodies. */
  body: 1024 * 1024,
  /** Any other string: names, subjects, reasons, comments, messages, descriptions. */
  text: 4096,
  /** Any bytes field. */
  bytes: 1024 * 1024,
  /** Elements of a repeated field, entries of a map. */
  count: 1000,
  /** Characters of a map key. */
  mapKey: 256,
} as const;

/** Limits of the well-known types every Trellis JSON payload (google.protobuf.Struct) uses. */
export const WELL_KNOWN_LIMITS: RequestLimits = {
  'google.protobuf.Value.string_value': { maxLength: 1024 * 1024 },
  'google.protobuf.Struct.fields': { maxCount: 10_000, maxKeyLength: 256 },
  'google.protobuf.ListValue.values': { maxCount: 100_000 },
};

/** How much of a client's input a message may quote; longer input is cut and marked with `…`. */
export const INPUT_EXCERPT_CHARS = 100;

/** `value` cut to `max` characters, marked with `…` when cut. */
export function excerpt(value: string, max = INPUT_EXCERPT_CHARS): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

/** A request that failed its bounds or did not decode; the handler is never called with it. */
export class RejectedRequest {
  constructor(readonly violation: FieldViolation) {}
}

const IDENTIFIER = /(^|_)(id|ids|key|token|code|type|types|service)$/;
const EMAIL = /(^|_)(email|to|cc|recipient)$/;
const BODY = /(^|_)body$/;

/** The default limit of a field, by its kind and name. */
export function defaultLimit(field: DescField): Required<FieldLimit> {
  const name = field.name;
  const isBytes =
    (field.fieldKind === 'scalar' || field.fieldKind === 'list') &&
    field.scalar === ScalarType.BYTES;
  const maxLength = isBytes
    ? DEFAULT_FIELD_LIMITS.bytes
    : name === 'page_token'
      ? DEFAULT_FIELD_LIMITS.pageToken
      : IDENTIFIER.test(name)
        ? DEFAULT_FIELD_LIMITS.identifier
        : EMAIL.test(name)
          ? DEFAULT_FIELD_LIMITS.email
          : BODY.test(name)
            ? DEFAULT_FIELD_LIMITS.body
            : DEFAULT_FIELD_LIMITS.text;
  return {
    maxLength,
    maxCount: DEFAULT_FIELD_LIMITS.count,
    maxKeyLength: DEFAULT_FIELD_LIMITS.mapKey,
  };
}

const enum Kind {
  Varint,
  Fixed64,
  Fixed32,
  String,
  Bytes,
  Message,
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

interface FieldPlan {
  name: string;
  kind: Kind;
  /** The wire type of one element. */
  wire: number;
  maxLength: number;
  /** Index into the message's counters; -1 for a singular field. */
  counter: number;
  maxCount: number;
  /** A repeated number, which may come packed. */
  packable: boolean;
  /** Message fields and map entries. */
  message?: MessagePlan;
}

type Style = 'plain' | 'entry' | 'value' | 'struct' | 'list' | 'timestamp' | 'duration';

/**
 * The ranges the well-known types define (timestamp.proto, duration.proto). Outside them ts-proto's
 * conversion yields an Invalid Date or a nonsense interval that fails deep inside a handler.
 */
const TIME_RANGES: Record<'timestamp' | 'duration', Record<string, [bigint, bigint, string]>> = {
  timestamp: {
    seconds: [-62135596800n, 253402300799n, 'is outside 0001-01-01 to 9999-12-31'],
    nanos: [0n, 999999999n, 'must be between 0 and 999999999'],
  },
  duration: {
    seconds: [-315576000000n, 315576000000n, 'is outside ±10,000 years'],
    nanos: [-999999999n, 999999999n, 'must be between -999999999 and 999999999'],
  },
};

interface MessagePlan {
  typeName: string;
  fields: Map<number, FieldPlan>;
  /** `fields` as an array by field number, for the numbers below TABLE_SIZE. */
  table: Array<FieldPlan | undefined>;
  counters: number;
  style: Style;
}

const TABLE_SIZE = 64;

function fieldOf(plan: MessagePlan, number: number): FieldPlan | undefined {
  return number < TABLE_SIZE ? plan.table[number] : plan.fields.get(number);
}

function withTable(plan: MessagePlan): MessagePlan {
  plan.table = Array.from({ length: TABLE_SIZE }, (_, n) => plan.fields.get(n));
  return plan;
}

function kindOf(scalar: ScalarType): { kind: Kind; wire: number } {
  switch (scalar) {
    case ScalarType.STRING:
      return { kind: Kind.String, wire: WIRE_LEN };
    case ScalarType.BYTES:
      return { kind: Kind.Bytes, wire: WIRE_LEN };
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return { kind: Kind.Fixed64, wire: WIRE_FIXED64 };
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return { kind: Kind.Fixed32, wire: WIRE_FIXED32 };
    default:
      return { kind: Kind.Varint, wire: WIRE_VARINT };
  }
}

const STYLES: Record<string, Style> = {
  'google.protobuf.Value': 'value',
  'google.protobuf.Struct': 'struct',
  'google.protobuf.ListValue': 'list',
  'google.protobuf.Timestamp': 'timestamp',
  'google.protobuf.Duration': 'duration',
};

/** Compiles descriptors into scan plans, one per message type (shared, so recursion is fine). */
class Planner {
  private readonly plans = new Map<string, MessagePlan>();

  constructor(private readonly limits: RequestLimits) {}

  /** How one element (of a singular, repeated or map value field) is read. */
  private element(
    kind: 'scalar' | 'enum' | 'message',
    scalar: ScalarType | undefined,
    message: DescMessage | undefined,
  ): { kind: Kind; wire: number; message?: MessagePlan } {
    if (kind === 'message' && message)
      return { kind: Kind.Message, wire: WIRE_LEN, message: this.message(message) };
    if (kind === 'scalar' && scalar !== undefined) return kindOf(scalar);
    return { kind: Kind.Varint, wire: WIRE_VARINT };
  }

  message(desc: DescMessage): MessagePlan {
    const found = this.plans.get(desc.typeName);
    if (found) return found;
    const plan: MessagePlan = {
      typeName: desc.typeName,
      fields: new Map(),
      table: [],
      counters: 0,
      style: STYLES[desc.typeName] ?? 'plain',
    };
    this.plans.set(desc.typeName, plan);
    for (const field of desc.fields) {
      const limit = { ...defaultLimit(field), ...this.limits[`${desc.typeName}.${field.name}`] };
      const base = { name: field.name, maxLength: limit.maxLength, maxCount: limit.maxCount };
      switch (field.fieldKind) {
        case 'scalar':
        case 'enum':
        case 'message': {
          const element =
            field.fieldKind === 'message'
              ? this.element('message', undefined, field.message)
              : this.element(field.fieldKind, field.scalar, undefined);
          plan.fields.set(field.number, { ...base, ...element, counter: -1, packable: false });
          break;
        }
        case 'list': {
          const element = this.element(field.listKind, field.scalar, field.message);
          plan.fields.set(field.number, {
            ...base,
            ...element,
            counter: plan.counters++,
            packable: element.wire !== WIRE_LEN,
          });
          break;
        }
        case 'map': {
          const single = { counter: -1, maxCount: 0, packable: false };
          const key = { name: 'key', ...kindOf(field.mapKey), maxLength: limit.maxKeyLength };
          const value = {
            name: 'value',
            ...this.element(field.mapKind, field.scalar, field.message),
            maxLength: limit.maxLength,
          };
          const entry: MessagePlan = {
            typeName: `${desc.typeName}.${field.name}.entry`,
            fields: new Map([
              [1, { ...key, ...single }],
              [2, { ...value, ...single }],
            ]),
            table: [],
            counters: 0,
            style: 'entry',
          };
          withTable(entry);
          plan.fields.set(field.number, {
            ...base,
            kind: Kind.Message,
            wire: WIRE_LEN,
            counter: plan.counters++,
            packable: false,
            message: entry,
          });
          break;
        }
      }
    }
    return withTable(plan);
  }
}

/** Where the scan is, for naming the field of a violation (rendered only when there is one). */
interface Step {
  plan: MessagePlan;
  field: FieldPlan;
  /** Element index of a repeated field or map. */
  index: number;
  /** A map field's step: the key of the entry being read, once read. */
  key?: string;
}

class Violation {
  constructor(
    readonly steps: Step[],
    readonly description: string,
  ) {}
}

function render(steps: readonly Step[]): string {
  let path = '';
  for (const { plan, field, index, key } of steps) {
    // A Value's oneof members, a Struct's `fields` and a ListValue's `values` are spelled as JSON.
    if (plan.style === 'value') continue;
    if (plan.style === 'entry') {
      if (field.name === 'key') path += '.key';
      continue;
    }
    const segment =
      plan.style === 'struct' || plan.style === 'list' ? '' : (path ? '.' : '') + field.name;
    if (field.counter < 0) path += segment;
    else if (field.message?.style === 'entry') {
      path +=
        key === undefined
          ? `${segment}[#${index}]`
          : `${segment}[${JSON.stringify(excerpt(key, 32))}]`;
    } else path += `${segment}[${index}]`;
  }
  // Map keys in the path are client input: the path is cut like any other excerpt.
  return excerpt(path, INPUT_EXCERPT_CHARS) || 'request';
}

const EMPTY = new Uint8Array(0);

/**
 * One pass over a message's bytes; throws a Violation at the first problem. One scanner serves
 * every call (a scan is synchronous), so a call allocates nothing unless it fails.
 */
class Scanner {
  private bytes: Uint8Array = EMPTY;
  private pos = 0;
  /** The path to the field being read; entries are reused, `depth` of them are live. */
  private readonly steps: Step[] = [];
  private depth = 0;
  /** Element counts of the repeated fields of the messages being read, as a stack. */
  private counts = new Uint32Array(64);
  private countsTop = 0;

  scan(plan: MessagePlan, bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
    this.depth = 0;
    this.countsTop = 0;
    try {
      this.message(plan, bytes.length, 1);
    } finally {
      this.bytes = EMPTY;
    }
  }

  private fail(description: string): never {
    const steps = this.steps.slice(0, this.depth).map((step) => ({ ...step }));
    throw new Violation(steps, description);
  }

  private varint(end: number): number {
    const bytes = this.bytes;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) this.fail('is not valid protobuf: a number is cut short');
      const b = bytes[this.pos++];
      // Only lengths and tags are used as numbers; above 2^53 they are past any message anyway.
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    return this.fail('is not valid protobuf: a number is longer than 10 bytes');
  }

  /** Reads a varint as a signed 64-bit integer and checks it against `[min, max]`. */
  private inRange(range: [bigint, bigint, string] | undefined, end: number): void {
    const start = this.pos;
    this.varint(end);
    if (!range) return;
    let value = 0n;
    for (let i = this.pos - 1; i >= start; i--)
      value = (value << 7n) | BigInt(this.bytes[i] & 0x7f);
    value = BigInt.asIntN(64, value);
    if (value < range[0] || value > range[1]) this.fail(range[2]);
  }

  private length(end: number): number {
    const length = this.varint(end);
    if (length > end - this.pos) this.fail('is not valid protobuf: a length runs past the end');
    return length;
  }

  private skip(wire: number, fieldNumber: number, end: number, depth: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        return this.advance(8, end);
      case WIRE_FIXED32:
        return this.advance(4, end);
      case WIRE_LEN:
        this.pos += this.length(end);
        return;
      case WIRE_START_GROUP: {
        // Groups nest; count them against the depth limit like messages.
        if (depth + 1 > MAX_REQUEST_DEPTH)
          this.fail(`nests deeper than ${MAX_REQUEST_DEPTH} levels`);
        for (;;) {
          const tag = this.varint(end);
          if (tag > 0xffffffff) this.fail('is not valid protobuf: a field number is out of range');
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== fieldNumber)
              this.fail('is not valid protobuf: a group is not closed');
            return;
          }
          this.skip(tag & 7, tag >>> 3, end, depth + 1);
        }
      }
      default:
        this.fail(`is not valid protobuf: wire type ${wire} is invalid`);
    }
  }

  private advance(count: number, end: number): void {
    if (count > end - this.pos) this.fail('is not valid protobuf: a number is cut short');
    this.pos += count;
  }

  private push(plan: MessagePlan, field: FieldPlan, index: number): void {
    const step = this.steps[this.depth];
    if (step === undefined) this.steps.push({ plan, field, index, key: undefined });
    else {
      step.plan = plan;
      step.field = field;
      step.index = index;
      step.key = undefined;
    }
    this.depth++;
  }

  private message(plan: MessagePlan, end: number, depth: number): void {
    const base = this.countsTop;
    if (plan.counters > 0) {
      this.countsTop += plan.counters;
      if (this.countsTop > this.counts.length) {
        const grown = new Uint32Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
      }
      this.counts.fill(0, base, this.countsTop);
    }
    const bytes = this.bytes;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag > 0xffffffff) this.fail('is not valid protobuf: a field number is out of range');
      const number = tag >>> 3;
      const wire = tag & 7;
      if (number === 0) this.fail('is not valid protobuf: field number 0 is invalid');
      if (wire === WIRE_END_GROUP)
        this.fail('is not valid protobuf: a group ends that never began');
      const field = fieldOf(plan, number);
      if (field === undefined || (wire !== field.wire && !(field.packable && wire === WIRE_LEN))) {
        // Unknown fields are skipped, as the decoder skips them.
        this.skip(wire, number, end, depth);
        continue;
      }
      let count = 1;
      this.push(plan, field, field.counter < 0 ? 0 : this.counts[base + field.counter]);
      if (wire !== WIRE_LEN) {
        if ((plan.style === 'timestamp' || plan.style === 'duration') && wire === WIRE_VARINT)
          this.inRange(TIME_RANGES[plan.style][field.name], end);
        else this.skip(wire, number, end, depth);
      } else if (field.kind === Kind.Message) {
        const length = this.length(end);
        const inner = field.message!;
        // A map entry and a Value are parts of one level, not levels of their own.
        const innerDepth = inner.style === 'entry' || inner.style === 'value' ? depth : depth + 1;
        if (innerDepth > MAX_REQUEST_DEPTH)
          this.fail(`nests deeper than ${MAX_REQUEST_DEPTH} levels`);
        this.message(inner, this.pos + length, innerDepth);
      } else {
        const length = this.length(end);
        const start = this.pos;
        this.pos += length;
        if (field.kind === Kind.String) {
          // A UTF-8 character is 1-4 bytes: count them only when the byte length cannot tell.
          if (
            length > field.maxLength &&
            (length > 4 * field.maxLength || codePoints(bytes, start, this.pos) > field.maxLength)
          )
            this.fail(`is longer than ${field.maxLength} characters`);
          if (!isAscii(bytes, start, this.pos) && !isUtf8(bytes.subarray(start, this.pos)))
            this.fail('is not valid UTF-8');
          if (plan.style === 'entry' && field.name === 'key' && this.depth > 1)
            this.steps[this.depth - 2].key = Buffer.from(
              bytes.buffer,
              bytes.byteOffset + start,
              length,
            ).toString();
        } else if (field.kind === Kind.Bytes) {
          if (length > field.maxLength) this.fail(`is longer than ${field.maxLength} bytes`);
        } else if (field.kind === Kind.Varint) {
          count = 0;
          for (let i = start; i < this.pos; i++) if ((bytes[i] & 0x80) === 0) count++;
          if (length > 0 && (bytes[this.pos - 1] & 0x80) !== 0)
            this.fail('is not valid protobuf: a number is cut short');
        } else {
          const size = field.kind === Kind.Fixed64 ? 8 : 4;
          if (length % size !== 0) this.fail('is not valid protobuf: a number is cut short');
          count = length / size;
        }
      }
      if (field.counter >= 0) {
        const total = (this.counts[base + field.counter] += count);
        if (total > field.maxCount)
          this.fail(
            `has more than ${field.maxCount} ${field.message?.style === 'entry' ? 'entries' : 'elements'}`,
          );
      }
      this.depth--;
    }
    if (this.pos !== end) this.fail('is not valid protobuf: a length runs past the end');
    this.countsTop = base;
  }
}

const scanner = new Scanner();

/** Short ASCII strings (ids, codes) are checked here, cheaper than a call into native code. */
function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start > 64) return false;
  for (let i = start; i < end; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

/** Code points of valid UTF-8: every byte that is not a continuation byte starts one. */
function codePoints(bytes: Uint8Array, start: number, end: number): number {
  let count = 0;
  for (let i = start; i < end; i++) if ((bytes[i] & 0xc0) !== 0x80) count++;
  return count;
}

/** The checks of one method's request type. */
export interface RequestGuard {
  /** The violation of `bytes` against the bounds, or undefined when they are within. */
  check(bytes: Uint8Array): FieldViolation | undefined;
}

/**
 * Request guards by method path (`/package.Service/Method`) for every method of every service in
 * the descriptor set, each with `limits` over the defaults.
 */
export function requestGuards(
  descriptorSet: Uint8Array,
  limits: RequestLimits = {},
): Map<string, RequestGuard> {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  for (const name of Object.keys(limits)) {
    const dot = name.lastIndexOf('.');
    const message = registry.getMessage(name.slice(0, dot));
    if (!message?.fields.some((field) => field.name === name.slice(dot + 1)))
      throw new Error(`request limit for ${name}: no such field in the descriptor set`);
  }
  const planner = new Planner({ ...WELL_KNOWN_LIMITS, ...limits });
  const guards = new Map<string, RequestGuard>();
  for (const file of registry.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        const plan = planner.message(method.input);
        guards.set(`/${service.typeName}/${method.name}`, {
          check(bytes) {
            try {
              scanner.scan(plan, bytes);
              return undefined;
            } catch (err) {
              if (!(err instanceof Violation)) throw err;
              return { field: render(err.steps), description: err.description };
            }
          },
        });
      }
    }
  }
  return guards;
}

/**
 * `deserialize` behind the guard: a request out of bounds, or one the decoder refuses, becomes a
 * `RejectedRequest` instead of an exception (grpc-js answers a throwing deserializer INTERNAL).
 */
export function guardedDeserializer(
  deserialize: (bytes: Buffer) => unknown,
  guard: RequestGuard | undefined,
): (bytes: Buffer) => unknown {
  return (bytes) => {
    const violation = guard?.check(bytes);
    if (violation) return new RejectedRequest(violation);
    try {
      return deserialize(bytes);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return new RejectedRequest({
        field: 'request',
        description: `does not decode: ${excerpt(reason)}`,
      });
    }
  };
}

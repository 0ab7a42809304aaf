import {
  createFileRegistry,
  fromBinary,
  ScalarType,
  type DescField,
  type DescMessage,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** One hostile request: its kind (for tables) and the bytes to send as is. */
export interface HostileRequest {
  kind: 'garbage' | 'truncated' | 'mutated' | 'oversized' | 'deep' | 'extreme';
  bytes: Uint8Array;
}

/** A unary method of a service in a descriptor set. */
export interface DescribedMethod {
  service: string;
  /** `/package.Service/Method` */
  path: string;
  input: DescMessage;
}

/** Every unary method of the services named (all services when `services` is omitted). */
export function unaryMethods(descriptorSet: Uint8Array, services?: string[]): DescribedMethod[] {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  const methods: DescribedMethod[] = [];
  for (const file of registry.files) {
    for (const service of file.services) {
      if (services && !services.includes(service.typeName)) continue;
      for (const method of service.methods) {
        if (method.methodKind !== 'unary') continue;
        methods.push({
          service: service.typeName,
          path: `/${service.typeName}/${method.name}`,
          input: method.input,
        });
      }
    }
  }
  return methods;
}

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXTREME_STRINGS = [
  '',
  ' ',
  '\u0000',
  'é',
  '👩‍👩‍👧‍👦',
  '\u202e\u0000\uffff',
  '{"$gt":""}',
  '$where',
  '../../../../etc/passwd',
  '%s%n%x',
  "'; DROP TABLE x; --",
  'a@b',
  'nobody@example.com',
  '-1',
  '9223372036854775808',
  'NaN',
];
const VARINTS: bigint[] = [
  0n,
  1n,
  -1n,
  2n ** 31n - 1n,
  -(2n ** 31n),
  2n ** 32n - 1n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  2n ** 64n - 1n,
];
const FIXED64 = [NaN, Infinity, -Infinity, -0, 1e308, 5e-324, 2 ** 53 + 2];

interface Settings {
  random: () => number;
  /** Values worth trying in strings (real ids, currency codes, addresses). */
  dictionary: string[];
  /** One oversized field per message, chosen by kind. */
  oversize: boolean;
  /** JSON payloads nested this deep. */
  deep: number;
  /** Oversized fields up to 1 MiB and 100,000 elements, not just past the limits. */
  huge: boolean;
}

/**
 * `count` hostile requests for a method's input message, from `seed`: garbage bytes, valid-looking
 * messages with extreme values, then truncated, bit-flipped, oversized and deeply nested ones.
 */
export function hostileRequests(
  input: DescMessage,
  options: {
    seed: number;
    count: number;
    dictionary?: string[];
    /**
     * Also messages of several MiB (fields of 1 MiB, 100,000 elements). Off, an oversized field
     * is just past its limit (up to 70,000 characters, 10,001 elements), which keeps a run short
     * when client and server share a process.
     */
    huge?: boolean;
  },
): HostileRequest[] {
  const random = seededRandom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const base = (oversize = false, deep = 0) =>
    encodeMessage(
      input,
      { random, dictionary: options.dictionary ?? [], oversize, deep, huge: options.huge ?? false },
      0,
    );
  const out: HostileRequest[] = [
    { kind: 'garbage', bytes: Uint8Array.of(0x0a) },
    { kind: 'garbage', bytes: Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0x0f) },
    { kind: 'garbage', bytes: new Uint8Array(11).fill(0xff) },
    { kind: 'garbage', bytes: Uint8Array.of(0x0e, 0x00) },
    { kind: 'garbage', bytes: Uint8Array.of(0x00, 0x00) },
    { kind: 'garbage', bytes: Uint8Array.of(0x0b, 0x08, 0x01) },
    { kind: 'oversized', bytes: lengthPrefixed(1, new Uint8Array(70_000).fill(0x41)) },
    { kind: 'deep', bytes: nestedGroups(200) },
    { kind: 'deep', bytes: nestedUnknown(200) },
  ];
  while (out.length < options.count) {
    const roll = random();
    if (roll < 0.1) {
      const bytes = new Uint8Array(1 + Math.floor(random() * 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      out.push({ kind: 'garbage', bytes });
    } else if (roll < 0.45) {
      out.push({ kind: 'extreme', bytes: base() });
    } else if (roll < 0.6) {
      const bytes = base();
      out.push({
        kind: 'truncated',
        bytes: bytes.subarray(0, Math.floor(random() * bytes.length)),
      });
    } else if (roll < 0.7) {
      const bytes = Uint8Array.from(base());
      for (let flips = 1 + Math.floor(random() * 3); flips > 0 && bytes.length > 0; flips--)
        bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
      out.push({ kind: 'mutated', bytes });
    } else if (roll < 0.85) {
      out.push({ kind: 'oversized', bytes: base(true) });
    } else {
      out.push({ kind: 'deep', bytes: base(false, pick([33, 40, 100, 500])) });
    }
  }
  return out.slice(0, options.count);
}

function lengthPrefixed(field: number, bytes: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(bytes).finish();
}

/** An unknown field 15 holding groups nested `levels` deep. */
function nestedGroups(levels: number): Uint8Array {
  const writer = new BinaryWriter();
  for (let i = 0; i < levels; i++) writer.tag(15, WireType.StartGroup);
  for (let i = 0; i < levels; i++) writer.tag(15, WireType.EndGroup);
  return writer.finish();
}

/** An unknown length-delimited field 15 holding itself `levels` deep. */
function nestedUnknown(levels: number): Uint8Array {
  let inner: Uint8Array = Uint8Array.of(0x08, 0x01);
  for (let i = 0; i < levels; i++) inner = lengthPrefixed(15, inner);
  return inner;
}

/** A google.protobuf.Value nested `levels` deep in objects and arrays. */
function deepValue(writer: BinaryWriter, levels: number, random: () => number): void {
  if (levels <= 0) {
    writer.tag(2, WireType.Bit64).double(1);
    return;
  }
  if (random() < 0.5) {
    writer.tag(5, WireType.LengthDelimited).fork(); // struct_value
    writer.tag(1, WireType.LengthDelimited).fork(); // fields entry
    writer.tag(1, WireType.LengthDelimited).string('a');
    writer.tag(2, WireType.LengthDelimited).fork();
    deepValue(writer, levels - 1, random);
    writer.join().join().join();
  } else {
    writer.tag(6, WireType.LengthDelimited).fork(); // list_value
    writer.tag(1, WireType.LengthDelimited).fork();
    deepValue(writer, levels - 1, random);
    writer.join().join();
  }
}

function randomString(s: Settings, oversize: boolean): string {
  if (oversize) {
    const lengths = s.huge ? [129, 321, 4097, 70_000, 1 << 20] : [129, 321, 4097, 70_000];
    const length = lengths[Math.floor(s.random() * lengths.length)];
    return 'x'.repeat(length);
  }
  const pool = s.dictionary.length > 0 && s.random() < 0.5 ? s.dictionary : EXTREME_STRINGS;
  return pool[Math.floor(s.random() * pool.length)];
}

function writeScalar(
  writer: BinaryWriter,
  number: number,
  scalar: ScalarType,
  s: Settings,
  oversize: boolean,
): void {
  switch (scalar) {
    case ScalarType.STRING:
      writer.tag(number, WireType.LengthDelimited).string(randomString(s, oversize));
      return;
    case ScalarType.BYTES:
      writer
        .tag(number, WireType.LengthDelimited)
        .bytes(
          new Uint8Array(oversize ? (s.huge ? 1 << 20 : 70_000) : Math.floor(s.random() * 16)),
        );
      return;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      writer.tag(number, WireType.Bit64).double(FIXED64[Math.floor(s.random() * FIXED64.length)]);
      return;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      writer.tag(number, WireType.Bit32).raw(Uint8Array.of(0xff, 0xff, 0x7f, 0x7f));
      return;
    default: {
      const value = VARINTS[Math.floor(s.random() * VARINTS.length)];
      writer.tag(number, WireType.Varint);
      if (value < 0n) writer.int64(value);
      else writer.uint64(value);
    }
  }
}

function encodeMessage(desc: DescMessage, s: Settings, depth: number): Uint8Array {
  const writer = new BinaryWriter();
  // Oversize one field at random (or none, when the message has none to oversize).
  const victim = s.oversize ? desc.fields[Math.floor(s.random() * desc.fields.length)] : undefined;
  for (const field of desc.fields) {
    if (field !== victim && s.random() < 0.3) continue;
    writeField(writer, field, s, depth, field === victim);
  }
  return writer.finish();
}

function writeField(
  writer: BinaryWriter,
  field: DescField,
  s: Settings,
  depth: number,
  oversize: boolean,
): void {
  const counts = s.huge ? [1_001, 10_001, 100_001] : [1_001, 10_001];
  const count = oversize ? counts[Math.floor(s.random() * counts.length)] : 1;
  switch (field.fieldKind) {
    case 'scalar':
      writeScalar(writer, field.number, field.scalar, s, oversize);
      return;
    case 'enum':
      writeScalar(writer, field.number, ScalarType.INT32, s, false);
      return;
    case 'message':
      writeMessage(writer, field.number, field.message, s, depth, oversize);
      return;
    case 'list':
      for (let i = 0; i < Math.min(count, field.listKind === 'message' ? 1_100 : count); i++) {
        if (field.listKind === 'message')
          writeMessage(writer, field.number, field.message, s, depth, false);
        else if (field.listKind === 'enum')
          writeScalar(writer, field.number, ScalarType.INT32, s, false);
        else writeScalar(writer, field.number, field.scalar, s, oversize && count === 1);
      }
      return;
    case 'map':
      for (let i = 0; i < Math.min(count, s.huge ? 20_000 : 1_100); i++) {
        writer.tag(field.number, WireType.LengthDelimited).fork();
        writer
          .tag(1, WireType.LengthDelimited)
          .string(oversize ? `${'k'.repeat(300)}${i}` : `k${i}`);
        if (field.mapKind === 'message') writeMessage(writer, 2, field.message, s, depth, false);
        else if (field.mapKind === 'enum') writeScalar(writer, 2, ScalarType.INT32, s, false);
        else writeScalar(writer, 2, field.scalar, s, false);
        writer.join();
      }
  }
}

function writeMessage(
  writer: BinaryWriter,
  number: number,
  message: DescMessage,
  s: Settings,
  depth: number,
  oversize: boolean,
): void {
  writer.tag(number, WireType.LengthDelimited).fork();
  if (message.typeName === 'google.protobuf.Struct') {
    writer.tag(1, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(oversize ? 'k'.repeat(1_000) : 'a');
    writer.tag(2, WireType.LengthDelimited).fork();
    deepValue(writer, s.deep > 0 ? s.deep : Math.floor(s.random() * 4), s.random);
    writer.join().join();
  } else if (depth < 4) {
    writer.raw(encodeMessage(message, { ...s, oversize }, depth + 1));
  }
  writer.join();
}

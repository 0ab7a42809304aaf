/**
 * Bounds-checked reader for Kafka's big-endian wire types.
 *
 * Every read past the end throws a {@link MalformedRequestError}; the connection turns that into
 * "close this connection with a logged reason" without affecting other clients.
 */
export class MalformedRequestError extends Error {
  override readonly name = 'MalformedRequestError';
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new MalformedRequestError(
        `read of ${n} bytes at offset ${this.pos} overruns a ${this.buf.length}-byte request`,
      );
    }
  }

  int8(): number {
    this.need(1);
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** int64 as a JS number; offsets and timestamps stay far below 2^53. */
  int64(): number {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return Number(v);
  }

  boolean(): boolean {
    return this.int8() !== 0;
  }

  /** Unsigned LEB128 varint (used by flexible versions for lengths and tag counts). */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.int8() & 0xff;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 28) throw new MalformedRequestError('uvarint longer than 5 bytes');
    }
  }

  /** STRING: int16 length then UTF-8; a negative length is a protocol error here. */
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new MalformedRequestError('null where a non-null string is required');
    return s;
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** COMPACT_STRING / COMPACT_NULLABLE_STRING: uvarint(length + 1), 0 meaning null. */
  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    this.need(n - 1);
    const s = this.buf.toString('utf8', this.pos, this.pos + n - 1);
    this.pos += n - 1;
    return s;
  }

  /** BYTES / NULLABLE_BYTES (returned as a view on the request buffer, not a copy). */
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  /** ARRAY: int32 count (null = -1) then items. */
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    // Each item is at least one byte, so a count larger than what is left is malformed.
    if (n > this.remaining) throw new MalformedRequestError(`array count ${n} exceeds request`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }

  /** Skip a flexible-version tagged-field section. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      const size = this.uvarint();
      this.need(size);
      this.pos += size;
    }
  }
}

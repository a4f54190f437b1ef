/**
 * Reads a MessagePack array of numbers — what `cmsgpack.pack` in a Redis script makes of a
 * Lua array of numbers — into a plain array. The decide script answers a whole batch as one
 * such string: one bulk reply for the client to parse instead of a RESP integer per value.
 * Only what a Lua array of numbers can pack to is read; anything else throws.
 */
export function unpackNumbers(buffer: Buffer): number[] {
  let at = 0;
  need(buffer, at, 1);
  const head = buffer[at++]!;
  let count: number;
  if (head >= 0x90 && head <= 0x9f) {
    count = head & 0x0f;
  } else if (head === 0xdc) {
    need(buffer, at, 2);
    count = buffer.readUInt16BE(at);
    at += 2;
  } else if (head === 0xdd) {
    need(buffer, at, 4);
    count = buffer.readUInt32BE(at);
    at += 4;
  } else {
    throw new Error(`msgpack: expected an array, got type byte 0x${head.toString(16)}`);
  }
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    need(buffer, at, 1);
    const type = buffer[at++]!;
    if (type <= 0x7f) {
      out[i] = type;
    } else if (type >= 0xe0) {
      out[i] = type - 0x100;
    } else {
      switch (type) {
        case 0xcc:
          need(buffer, at, 1);
          out[i] = buffer[at]!;
          at += 1;
          break;
        case 0xcd:
          need(buffer, at, 2);
          out[i] = buffer.readUInt16BE(at);
          at += 2;
          break;
        case 0xce:
          need(buffer, at, 4);
          out[i] = buffer.readUInt32BE(at);
          at += 4;
          break;
        case 0xcf:
          need(buffer, at, 8);
          out[i] = Number(buffer.readBigUInt64BE(at));
          at += 8;
          break;
        case 0xd0:
          need(buffer, at, 1);
          out[i] = buffer.readInt8(at);
          at += 1;
          break;
        case 0xd1:
          need(buffer, at, 2);
          out[i] = buffer.readInt16BE(at);
          at += 2;
          break;
        case 0xd2:
          need(buffer, at, 4);
          out[i] = buffer.readInt32BE(at);
          at += 4;
          break;
        case 0xd3:
          need(buffer, at, 8);
          out[i] = Number(buffer.readBigInt64BE(at));
          at += 8;
          break;
        case 0xca:
          need(buffer, at, 4);
          out[i] = buffer.readFloatBE(at);
          at += 4;
          break;
        case 0xcb:
          need(buffer, at, 8);
          out[i] = buffer.readDoubleBE(at);
          at += 8;
          break;
        default:
          throw new Error(`msgpack: expected a number, got type byte 0x${type.toString(16)}`);
      }
    }
  }
  if (at !== buffer.length) throw new Error('msgpack: trailing bytes after the array');
  return out;
}

/** Throws unless `bytes` more bytes follow `at` (a function of its own, no closure per call). */
function need(buffer: Buffer, at: number, bytes: number): void {
  if (at + bytes > buffer.length) throw new Error('msgpack: the reply is cut short');
}

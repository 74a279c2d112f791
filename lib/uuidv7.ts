import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes per id: 2 seed the counter, 8 fill the 62 random bits. */
const ID_BYTES = 10;
const POOL_BYTES = ID_BYTES * 512;
/** Random bytes drawn from the CSPRNG a pool at a time: one `randomFillSync` per 512 ids. */
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** Offset of the next id's {@link ID_BYTES} random bytes in the pool, refilled when used up. */
function nextRandomOffset(): number {
  if (poolOffset + ID_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += ID_BYTES;
  return offset;
}

/**
 * Creates a UUIDv7 generator (RFC 9562): 48 bits of Unix milliseconds, version 7, a 12-bit counter, the
 * variant, 62 random bits from `node:crypto`. Ids of one generator strictly increase (as strings too): within
 * a millisecond, or when the clock steps back, the counter advances and, when it overflows, the timestamp
 * (RFC 9562 §6.2, method 1). `now` is the clock (tests step it).
 */
export function createUuidV7Generator(now: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    const ms = now();
    const r = nextRandomOffset();
    if (ms > lastMs) {
      lastMs = ms;
      // A random start in the lower half leaves room for 2048+ more ids in the same millisecond.
      counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x7ff;
    } else if (++counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    const high = Math.floor(lastMs / 0x1000000); // top 24 of the 48 timestamp bits
    const low = lastMs % 0x1000000;
    return (
      HEX[(high >>> 16) & 0xff]! +
      HEX[(high >>> 8) & 0xff]! +
      HEX[high & 0xff]! +
      HEX[(low >>> 16) & 0xff]! +
      '-' +
      HEX[(low >>> 8) & 0xff]! +
      HEX[low & 0xff]! +
      '-' +
      HEX[0x70 | (counter >>> 8)]! +
      HEX[counter & 0xff]! +
      '-' +
      HEX[0x80 | (pool[r + 2]! & 0x3f)]! +
      HEX[pool[r + 3]!]! +
      '-' +
      HEX[pool[r + 4]!]! +
      HEX[pool[r + 5]!]! +
      HEX[pool[r + 6]!]! +
      HEX[pool[r + 7]!]! +
      HEX[pool[r + 8]!]! +
      HEX[pool[r + 9]!]!
    );
  };
}

/** A new UUIDv7 (time-ordered, ~0.1 µs): the id of every unit of work, event, job and commit. */
export const uuidv7: () => string = createUuidV7Generator();

import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { encodeOutboxItems, encodeSizedOutboxItems } from '../../lib/outbox/encode.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';
import { itemSize, utf8Length } from '../../lib/dynamodb/size.js';

const event = (data: unknown, type: string): OutboxMessage => ({
  kind: 'event',
  event: {
    specversion: '1.0',
    id: '01900000-0000-7000-8000-000000000000',
    source: 'test',
    type,
    time: '2026-01-01T00:00:00.000Z',
    datacontenttype: 'application/json',
    data,
  },
});

describe('encodeSizedOutboxItems (lib/outbox/encode.ts)', () => {
  it('sizes each item from the message sizes exactly as itemSize measures the item (unicode, splits, correlation id)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ minLength: 1, maxLength: 20 })),
          { minLength: 1, maxLength: 30 },
        ),
        fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
        fc.integer({ min: 600, max: 4000 }),
        (specs, correlationId, maxMessagesBytes) => {
          const messages = specs.map(([data, type]) => event(data, type));
          const messageJson = messages.map((m) => JSON.stringify(m));
          const input = {
            commitId: 'c-1',
            messages,
            messageJson,
            messageBytes: messageJson.map(utf8Length),
            now: new Date(0),
            retentionSeconds: 60,
            correlationId,
            maxMessagesBytes,
          };
          const sized = encodeSizedOutboxItems(input);
          expect(sized.map((s) => s.bytes)).toEqual(sized.map((s) => itemSize(s.item)));
          expect(sized.map((s) => s.item)).toEqual(encodeOutboxItems({ ...input, messageBytes: undefined }));
        },
      ),
      { seed: 0x5123, numRuns: 200 },
    );
  });
});

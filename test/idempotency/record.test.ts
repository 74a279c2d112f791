import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  IdempotencyPayloadMismatchError,
  IdempotencyResponseTooLargeError,
  InvalidOperationError,
} from '../../lib/errors.js';
import { idempotencyProblems, resolveIdempotency } from '../../lib/idempotency/options.js';
import {
  IDEMPOTENCY_RECORD,
  buildIdempotencyRecord,
  canonicalJson,
  clientRequestTokenFor,
  decide,
  decodeResponse,
  defaultPayload,
  encodeResponse,
  generationOf,
  hashPayload,
  idempotencyRecordKey,
  isLive,
  recordPutInput,
  type IdempotencyRecord,
} from '../../lib/idempotency/record.js';
import { OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';

const NOW = Date.parse('2026-11-22T10:00:00.400Z');
const build = (over: Partial<Parameters<typeof buildIdempotencyRecord>[0]> = {}): IdempotencyRecord =>
  buildIdempotencyRecord({
    pk: 'idem#abc',
    response: { ok: true },
    storeResponse: true,
    payloadHash: 'h1',
    expiresAfterSeconds: 60,
    nowMs: NOW,
    requestId: 'req',
    commitId: 'c1',
    ...over,
  });

describe('idempotency record (pure)', () => {
  it('hashes the scoped key: never stores the key, separates scopes, stays within a DynamoDB key', () => {
    const a = idempotencyRecordKey('fn-a', 'order-42');
    expect(a).toEqual(idempotencyRecordKey('fn-a', 'order-42'));
    expect(a.sk).toBe(IDEMPOTENCY_RECORD.sk);
    expect(a.pk.startsWith('idem#')).toBe(true);
    expect(a.pk).not.toContain('order-42');
    expect(idempotencyRecordKey('fn-b', 'order-42').pk).not.toBe(a.pk);
    // no ambiguity between scope and key
    expect(idempotencyRecordKey('a', 'bc').pk).not.toBe(idempotencyRecordKey('ab', 'c').pk);
    expect(idempotencyRecordKey('fn', 'x'.repeat(10_000)).pk.length).toBe(5 + 43);
  });

  it('hashes payloads by canonical JSON: key order does not matter, values do', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(hashPayload(reversed)).toBe(hashPayload(obj));
      }),
    );
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }, undefined] })).toBe('{"a":[{"d":2},null],"b":1}');
    expect(canonicalJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    expect(canonicalJson(10n)).toBe('"10n"');
    expect(canonicalJson(undefined)).toBe('undefined');
    expect(hashPayload({ total: 1 })).not.toBe(hashPayload({ total: 2 }));
    expect(hashPayload('{"a":1}')).not.toBe(hashPayload({ a: 1 }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => hashPayload(cyclic)).toThrow(InvalidOperationError);
  });

  it('takes the body of HTTP events and the whole event otherwise', () => {
    expect(defaultPayload({ body: '{"a":1}', headers: {} })).toBe('{"a":1}');
    expect(defaultPayload({ detail: 1 })).toEqual({ detail: 1 });
    expect(defaultPayload('x')).toBe('x');
  });

  it('derives a ClientRequestToken of at most 36 characters from the table, the key and the generation it read', () => {
    const token = clientRequestTokenFor('records', 'idem#abc', 'b1');
    expect(token.length).toBeLessThanOrEqual(36);
    expect(token).toMatch(/^[\x21-\x7e]+$/);
    expect(clientRequestTokenFor('records', 'idem#abc', 'b1')).toBe(token);
    expect(clientRequestTokenFor('records', 'idem#abc', 'e123')).not.toBe(token);
    expect(clientRequestTokenFor('records', 'idem#abd', 'b1')).not.toBe(token);
    expect(clientRequestTokenFor('other-records', 'idem#abc', 'b1')).not.toBe(token);
    expect(generationOf(undefined, NOW)).toBe(generationOf(undefined, NOW + 1000));
    expect(generationOf(build(), NOW)).toBe(`e${build().expiresAt}`);
  });

  it('encodes responses, undefined and markers, and round-trips them', () => {
    for (const value of [{ statusCode: 201, body: '{}' }, 0, '', null, [1, 'a'], false]) {
      expect(decodeResponse(build({ response: value }), () => 'marker')).toEqual(value);
    }
    expect(encodeResponse(undefined)).toEqual({ responseEncoding: 'undefined' });
    expect(decodeResponse(build({ response: undefined }), () => 'marker')).toBeUndefined();
    const marker = build({ response: { huge: true }, storeResponse: false });
    expect(marker.response).toBeUndefined();
    expect(decodeResponse(marker, () => 'marker')).toBe('marker');
    expect(() => encodeResponse({ n: 1n })).toThrow(InvalidOperationError);
    expect(() => encodeResponse(() => 1)).toThrow(/not JSON-serializable/);
  });

  it('builds the record with status, payload hash, expiry and TTL (rounded up), and refuses one over 400 KB', () => {
    const record = build();
    expect(record).toMatchObject({
      pk: 'idem#abc',
      sk: 'idem',
      status: 'COMPLETED',
      payloadHash: 'h1',
      requestId: 'req',
      commitId: 'c1',
      responseEncoding: 'json',
      response: '{"ok":true}',
    });
    expect(record[OUTBOX_SCHEMA.kindAttribute as '_kind']).toBe(IDEMPOTENCY_RECORD.kind);
    expect(record.expiresAt).toBe(Math.ceil(NOW / 1000) + 60);
    expect((record as unknown as Record<string, unknown>)[OUTBOX_SCHEMA.ttlAttribute]).toBe(record.expiresAt);
    expect(build({ payloadHash: undefined })).not.toHaveProperty('payloadHash');
    const tooBig = (() => {
      try {
        build({ response: 'x'.repeat(400 * 1024) });
      } catch (error) {
        return error as IdempotencyResponseTooLargeError;
      }
      return undefined;
    })();
    expect(tooBig).toBeInstanceOf(IdempotencyResponseTooLargeError);
    expect(tooBig!.maximum).toBe(400 * 1024);
    expect(tooBig!.message).toMatch(/storeResponse/);
    expect(() => build({ response: 'x'.repeat(400 * 1024), storeResponse: false })).not.toThrow();
  });

  it('conditions the Put on no record or an expired one', () => {
    const put = recordPutInput('outbox', build(), NOW);
    expect(put.ConditionExpression).toBe('attribute_not_exists(#pk) OR #expiresAt <= :now');
    expect(put.ExpressionAttributeValues[':now']).toBe(Math.floor(NOW / 1000));
    expect(put.label).toBe(IDEMPOTENCY_RECORD.label);
  });

  it('decides: run without a live record, replay the same payload, refuse another payload with 422', () => {
    const record = build();
    expect(decide(undefined, 'h1', NOW)).toEqual({ action: 'run', generation: generationOf(undefined, NOW) });
    const expiredAt = record.expiresAt * 1000;
    expect(isLive(record, expiredAt - 1)).toBe(true);
    expect(isLive(record, expiredAt)).toBe(false);
    expect(decide(record, 'h1', expiredAt)).toEqual({ action: 'run', generation: `e${record.expiresAt}` });
    expect(decide(record, 'h1', NOW)).toEqual({ action: 'replay', record });
    expect(decide(record, undefined, NOW).action).toBe('replay');
    expect(decide(build({ payloadHash: undefined }), 'h2', NOW).action).toBe('replay');
    const error = (() => {
      try {
        decide(record, 'h2', NOW);
      } catch (e) {
        return e as IdempotencyPayloadMismatchError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(IdempotencyPayloadMismatchError);
    expect(error!.statusCode).toBe(422);
    expect(error!.expose).toBe(true);
    expect(error!.recordKey).toBe('idem#abc');
    expect(decide({ ...record, status: 'IN_PROGRESS' }, 'h1', NOW).action).toBe('run');
  });

  it('validates options and applies defaults', () => {
    expect(idempotencyProblems({ key: () => 'k' })).toEqual([]);
    expect(idempotencyProblems(undefined)).toHaveLength(1);
    expect(
      idempotencyProblems({
        key: 'k',
        expiresAfter: 1.5,
        payload: 3,
        storeResponse: 'no',
        table: 'x',
        scope: 1,
        extra: true,
      }),
    ).toHaveLength(7);
    expect(idempotencyProblems({ key: () => 'k', markerResponse: () => 1 })).toEqual([
      '"idempotency.markerResponse" only applies with storeResponse: false',
    ]);
    const resolved = resolveIdempotency({ key: () => 'k' });
    expect(resolved).toMatchObject({ expiresAfter: 3600, storeResponse: true, payload: defaultPayload });
    expect(resolved.markerResponse({}, {} as never)).toBeUndefined();
    expect(resolveIdempotency({ key: () => 'k', payload: false }).payload).toBeUndefined();
  });
});

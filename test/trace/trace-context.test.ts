import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { withLogKeys } from '../../lib/jobs/log-keys.js';
import { createMemoryLogger } from '../../lib/local/memory-logger.js';
import { resolveTraceContext, traceparentFromXRay, xrayHeaderFromTraceparent } from '../../lib/trace-context.js';

const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

describe('trace context (pure)', () => {
  it('maps an X-Ray header to a traceparent as AWS documents it, and back', () => {
    expect(traceparentFromXRay(XRAY)).toBe('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01');
    expect(
      traceparentFromXRay('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a:1'),
    ).toMatch(/-00$/);
    expect(traceparentFromXRay('Root=1-5759e988-bd862e3fe1be46a994272793')).toBeUndefined(); // no Parent
    expect(xrayHeaderFromTraceparent('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01')).toBe(XRAY);
  });

  it('round-trips any trace id, parent id and sampled flag (seeded)', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)).filter((s) => !/^0+$/.test(s));
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (trace, parent, sampled) => {
        const traceparent = `00-${trace}-${parent}-${sampled ? '01' : '00'}`;
        expect(traceparentFromXRay(xrayHeaderFromTraceparent(traceparent)!)).toBe(traceparent);
      }),
      { seed: 14, numRuns: 200 },
    );
  });

  it('resolves: given traceparent (with tracestate) > X-Ray; TraceHeader from env > derived; malformed ignored', () => {
    const w3c = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(resolveTraceContext(undefined, {})).toBeUndefined();
    expect(resolveTraceContext(undefined, { _X_AMZN_TRACE_ID: XRAY })).toEqual({
      traceparent: '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01',
      traceHeader: XRAY,
    });
    expect(resolveTraceContext({ traceparent: w3c, tracestate: 'a=1' }, { _X_AMZN_TRACE_ID: XRAY })).toEqual({
      traceparent: w3c,
      tracestate: 'a=1',
      traceHeader: XRAY,
    });
    expect(resolveTraceContext({ traceparent: w3c }, {})).toEqual({
      traceparent: w3c,
      traceHeader: 'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1',
    });
    // a malformed traceparent (and its tracestate) is dropped: the X-Ray one is used
    expect(resolveTraceContext({ traceparent: 'nope', tracestate: 'a=1' }, { _X_AMZN_TRACE_ID: XRAY })).toEqual(
      resolveTraceContext(undefined, { _X_AMZN_TRACE_ID: XRAY }),
    );
    expect(
      resolveTraceContext({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }, {}),
    ).toBeUndefined();
    expect(resolveTraceContext(undefined, { _X_AMZN_TRACE_ID: 'garbage' })).toBeUndefined();
  });
});

describe('withLogKeys', () => {
  it('a Powertools-style logger gets the keys appended for the delivery and removed after, even when it throws', async () => {
    const calls: unknown[] = [];
    const logger = {
      ...createMemoryLogger(),
      appendKeys: (k: object) => calls.push(['append', k]),
      removeKeys: (k: string[]) => calls.push(['remove', k]),
    };
    await expect(
      withLogKeys(logger, { correlationId: 'c', causationId: 'j' }, async (l) => {
        expect(l).toBe(logger); // the job handler's logger is the same Powertools Logger
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toEqual([
      ['append', { correlationId: 'c', causationId: 'j' }],
      ['remove', ['correlationId', 'causationId']],
    ]);
  });

  it('any other logger is wrapped per delivery: concurrent deliveries keep their own keys', async () => {
    const logger = createMemoryLogger();
    await Promise.all(
      ['a', 'b'].map((id) =>
        withLogKeys(logger, { causationId: id }, async (l) => {
          await new Promise((r) => setTimeout(r, id === 'a' ? 10 : 0));
          l.info(`run ${id}`, { n: 1 });
          l.warn(`bare ${id}`);
        }),
      ),
    );
    expect(logger.entries.map((e) => [e.message, e.attributes])).toEqual([
      ['run b', { causationId: 'b', n: 1 }],
      ['bare b', { causationId: 'b' }],
      ['run a', { causationId: 'a', n: 1 }],
      ['bare a', { causationId: 'a' }],
    ]);
  });
});

import { describe, it, expect } from '@jest/globals';
import { startLocalHttpApi } from '../../lib/local/http-api.js';

describe('startLocalHttpApi', () => {
  it('turns requests into HTTP API v2 events and results into responses', async () => {
    const seen: any[] = [];
    const api = await startLocalHttpApi({
      port: 0,
      routes: [
        {
          method: 'POST',
          path: '/orders/{id}/pay',
          handler: async (event, context) => {
            seen.push({ event, context });
            return { statusCode: 202, headers: { 'x-id': event.pathParameters!.id! }, body: 'ok' };
          },
        },
        {
          method: 'GET',
          path: '/boom',
          handler: async () => {
            throw new Error('handler broke');
          },
        },
        { method: 'GET', path: '/plain', handler: async () => ({ hello: 'world' }) as never },
      ],
    });
    try {
      const r = await fetch(`${api.url}/orders/o%201/pay?x=1&x=2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(r.status).toBe(202);
      expect(r.headers.get('x-id')).toBe('o 1');
      const { event, context } = seen[0];
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: 'POST /orders/{id}/pay',
        rawPath: '/orders/o%201/pay',
        rawQueryString: 'x=1&x=2',
        body: '{"a":1}',
        isBase64Encoded: false,
        pathParameters: { id: 'o 1' },
        queryStringParameters: { x: '1,2' },
      });
      expect(event.headers['content-type']).toBe('application/json');
      expect(event.requestContext.http.method).toBe('POST');
      expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
      expect((await fetch(`${api.url}/nowhere`)).status).toBe(404);
      const boom = await fetch(`${api.url}/boom`);
      expect([boom.status, await boom.text()]).toEqual([500, '{"message":"Internal Server Error"}']);
      expect(await (await fetch(`${api.url}/plain`)).json()).toEqual({ hello: 'world' });
      await expect(startLocalHttpApi({ port: api.port, routes: [] })).rejects.toThrow(
        `port ${api.port} on 127.0.0.1 is already in use`,
      );
    } finally {
      await api.stop();
    }
  });
});

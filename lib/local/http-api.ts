import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { localLambdaContext } from './stream-record.js';

/** A Lambda handler behind an HTTP API (payload format 2.0). */
export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2 | undefined | void>;

/** One route: `POST /orders/{id}/pay`. */
export interface HttpApiRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with `{name}` parameters, as in an API Gateway route key. */
  readonly path: string;
  readonly handler: HttpApiHandler;
  /** Function name shown in the Lambda context. @default the route key */
  readonly functionName?: string;
}

/** Options of {@link startLocalHttpApi}. */
export interface LocalHttpApiOptions {
  readonly routes: readonly HttpApiRoute[];
  /** @default a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Lambda timeout the context reports. @default 30000 */
  readonly timeoutMs?: number;
  /** Called after every request with its route key, status and duration. */
  readonly onRequest?: (info: { routeKey: string; status: number; ms: number; requestId: string }) => void;
}

/** A running local HTTP API. */
export interface LocalHttpApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { regex: new RegExp(`^${pattern}$`), names };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Turns a Node request into the API Gateway HTTP API (v2) event a Lambda receives. */
export function toHttpApiEvent(
  req: IncomingMessage,
  body: string,
  routeKey: string,
  pathParameters: Record<string, string>,
  host: string,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', `http://${host}`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = query[k] ? `${query[k]},${v}` : v));
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: host,
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body ? { body } : {}),
    isBase64Encoded: false,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResultV2 | undefined | void): number {
  if (result === undefined || result === null || typeof result === 'string' || !('statusCode' in (result as object))) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return 200;
  }
  const r = result as {
    statusCode?: number;
    headers?: Record<string, string | number | boolean>;
    body?: string;
    isBase64Encoded?: boolean;
    cookies?: string[];
  };
  const status = r.statusCode ?? 200;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = String(v);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  res
    .writeHead(status, headers)
    .end(r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body);
  return status;
}

/**
 * Serves Lambda handlers on loopback as an API Gateway HTTP API would: each request becomes a payload-2.0
 * event with `routeKey`, `pathParameters` and `requestContext`; the handler's result becomes the response.
 * An unmatched route answers 404 `{"message":"Not Found"}` like API Gateway; a handler that throws answers
 * 500 `{"message":"Internal Server Error"}`. A port already in use fails with a message that says so.
 *
 * @example
 * ```ts
 * const api = await startLocalHttpApi({ routes: [{ method: 'POST', path: '/orders', handler }] });
 * await fetch(`${api.url}/orders`, { method: 'POST', body: '{}' });
 * await api.stop();
 * ```
 */
export async function startLocalHttpApi(options: LocalHttpApiOptions): Promise<LocalHttpApi> {
  const host = options.host ?? '127.0.0.1';
  const routes = options.routes.map((r) => ({ ...r, ...compile(r.path), routeKey: `${r.method} ${r.path}` }));
  const server: Server = createServer(async (req, res) => {
    const started = Date.now();
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const route = routes.find((r) => r.method === req.method && r.regex.test(path));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      options.onRequest?.({ routeKey: `${req.method} ${path}`, status: 404, ms: Date.now() - started, requestId: '-' });
      return;
    }
    const match = route.regex.exec(path)!;
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
    const context = localLambdaContext(
      route.functionName ?? route.routeKey.replace(/[^a-zA-Z0-9]+/g, '-'),
      'us-east-1',
      randomUUID(),
      options.timeoutMs ?? 30000,
    );
    let status: number;
    try {
      const event = toHttpApiEvent(req, await readBody(req), route.routeKey, params, req.headers.host ?? host);
      status = send(res, await route.handler(event, context));
    } catch (error) {
      console.error(`${route.routeKey} failed:`, error);
      status = 500;
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
    }
    options.onRequest?.({
      routeKey: route.routeKey,
      status,
      ms: Date.now() - started,
      requestId: context.awsRequestId,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${options.port} on ${host} is already in use: stop what listens there or choose another port`,
            )
          : error,
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

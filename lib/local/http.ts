import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error a local endpoint answers with, as the service would (name, HTTP status, message). */
export class LocalServiceError extends Error {
  constructor(
    /** The service's error type, e.g. `ConflictException`; the SDK uses it as the error `name`. */
    readonly type: string,
    message: string,
    /** HTTP status. @default 400 */
    readonly status = 400,
    /** Extra response headers, e.g. SQS's `x-amzn-query-error` (its AWS Query error code). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = type;
  }
}

/** One HTTP request as the endpoints see it. */
export interface LocalRequest {
  readonly method: string;
  /** Path without the query string, percent-decoded per segment by the caller. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** Parsed JSON body (`{}` when empty). */
  readonly body: Record<string, unknown>;
}

/** What a route answers. */
export interface LocalResponse {
  readonly status?: number;
  readonly body?: unknown;
}

/** A running loopback server. */
export interface LocalServer {
  /** `http://127.0.0.1:<port>`: the SDK client's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/** How errors are written: REST-JSON services use the `x-amzn-errortype` header, JSON 1.0/1.1 ones `__type`. */
export type ErrorStyle = 'rest-json' | 'json-1.1' | 'json-1.0';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts a loopback HTTP server that parses JSON bodies, calls `route`, and writes its answer (or its
 * {@link LocalServiceError}) in the wire format of `style`.
 */
export async function startLocalServer(
  route: (request: LocalRequest) => Promise<LocalResponse>,
  options: { readonly port?: number; readonly style: ErrorStyle; readonly contentType: string },
): Promise<LocalServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const requestId = randomUUID();
      let status = 200;
      let payload: unknown = {};
      const headers: Record<string, string> = { 'content-type': options.contentType, 'x-amzn-requestid': requestId };
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const text = await readBody(req);
        let body: Record<string, unknown> = {};
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            throw new LocalServiceError(
              options.style === 'rest-json' ? 'ValidationException' : 'SerializationException',
              'The request body is not valid JSON',
            );
          }
        }
        const answer = await route({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body,
        });
        status = answer.status ?? 200;
        payload = answer.body ?? {};
      } catch (error) {
        const e =
          error instanceof LocalServiceError
            ? error
            : new LocalServiceError('InternalServerException', (error as Error).message, 500);
        status = e.status;
        Object.assign(headers, e.headers);
        if (options.style === 'rest-json') {
          headers['x-amzn-errortype'] = e.type;
          payload = { Message: e.message };
        } else {
          payload = { __type: e.type, message: e.message };
        }
      }
      const json = JSON.stringify(payload);
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(json)) });
      res.end(json);
    })();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

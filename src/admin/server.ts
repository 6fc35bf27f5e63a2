import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.js';
import { listenOn } from '../net/listen.js';

/**
 * The admin HTTP listener (default 127.0.0.1:11334). Routes are registered by the parts
 * that own them (health and metrics, policy, greylist, learn, history), so this file only
 * knows HTTP: matching, auth and error answers.
 *
 * Auth: reads are open unless a route says otherwise; every write and every route marked
 * `auth` needs the admin password, given as the `Password` header (what rspamc sends) or
 * `Authorization: Bearer PASSWORD`. HTTP Basic auth (any user name) is taken for reads only:
 * a browser sends cached Basic credentials with any request, including a form another site
 * makes it post. For the same reason a write that a browser marks as cross-site (`Origin`
 * of another host, `Sec-Fetch-Site` other than same-origin or none) is refused outright.
 */
export interface AdminRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  params: Record<string, string>;
  /** The request body, read in full (bounded by maxBody). */
  body: Buffer;
}

export interface AdminResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  /** Path with :params, e.g. /greylist/:key */
  path: string;
  /** Needs the admin password (writes always do). */
  auth?: boolean;
  /** Largest body accepted, bytes (default 1 MiB). */
  maxBody?: number;
  handle(req: AdminRequest): Promise<AdminResponse> | AdminResponse;
}

export class AdminServer {
  private readonly routes: Array<{ route: Route; pattern: RegExp; names: string[] }> = [];
  private server: http.Server | null = null;

  constructor(
    private readonly password: () => string,
    private readonly log: Logger,
  ) {}

  add(route: Route): this {
    const names: string[] = [];
    const pattern = new RegExp(
      '^' +
        route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\/:([a-zA-Z_]+)/g, (_m, name: string) => {
          names.push(name);
          return '/([^/]+)';
        }) +
        '/?$',
    );
    this.routes.push({ route, pattern, names });
    return this;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    const server = http.createServer((req, res) => void this.dispatch(req, res));
    this.server = server;
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    return listenOn(server, host, port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /**
   * True when the request carries the admin password (constant-time compare). Basic
   * credentials count only when `basic` is set (for reads).
   */
  authorized(headers: http.IncomingHttpHeaders, basic = true): boolean {
    const expected = this.password();
    if (!expected) return false;
    const candidates: string[] = [];
    const pw = headers['password'];
    if (typeof pw === 'string') candidates.push(pw);
    const auth = headers['authorization'];
    if (typeof auth === 'string') {
      const [scheme, value = ''] = auth.split(' ', 2);
      if (scheme?.toLowerCase() === 'basic' && basic) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        candidates.push(decoded.slice(decoded.indexOf(':') + 1));
      } else if (scheme?.toLowerCase() === 'bearer') candidates.push(value);
    }
    const want = crypto.createHash('sha256').update(expected).digest();
    return candidates.some((c) => crypto.timingSafeEqual(crypto.createHash('sha256').update(c).digest(), want));
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const method = req.method ?? 'GET';
    let found = false;
    for (const { route, pattern, names } of this.routes) {
      const m = pattern.exec(url.pathname);
      if (!m) continue;
      found = true;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const write = route.method !== 'GET';
      if (write && crossSite(req.headers)) {
        this.log.warn({ event: 'admin_cross_site', path: url.pathname, origin: req.headers.origin, site: req.headers['sec-fetch-site'] }, 'cross-site admin write refused');
        return send(res, { status: 403, body: { error: 'cross-site requests are refused' } });
      }
      const needsAuth = route.auth ?? write;
      if (needsAuth && !this.authorized(req.headers, !write)) {
        const noPassword = !this.password();
        return send(res, {
          status: noPassword ? 403 : 401,
          headers: noPassword ? {} : { 'WWW-Authenticate': 'Basic realm="borderpatrol"' },
          body: { error: noPassword ? 'admin.password is not set: writes are disabled' : 'password required' },
        });
      }
      let body: Buffer;
      try {
        body = await readBody(req, route.maxBody ?? 1_048_576);
      } catch (err) {
        return send(res, { status: 413, headers: { Connection: 'close' }, body: { error: (err as Error).message } });
      }
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]));
      try {
        return send(res, await route.handle({ method, url, headers: req.headers, params, body }));
      } catch (err) {
        this.log.error({ event: 'admin_error', path: url.pathname, err: (err as Error).message }, 'admin request failed');
        return send(res, { status: 500, body: { error: (err as Error).message } });
      }
    }
    send(res, { status: found ? 405 : 404, body: { error: found ? 'method not allowed' : 'not found' } });
  }
}

/**
 * A write from a browser on another site: its Origin names another host, or its
 * Sec-Fetch-Site says cross-site or same-site. Clients that are not browsers (rspamc, curl,
 * the CLI) send neither header.
 */
function crossSite(headers: http.IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return true;
  const origin = headers.origin;
  if (origin === undefined) return false;
  const host = headers.host ?? '';
  return origin !== `http://${host}` && origin !== `https://${host}`;
}

/**
 * The request body, at most `max` bytes. A larger one is read to its end without being
 * kept (the request timeout bounds how long), so the client gets its 413 instead of a
 * connection reset while it is still sending.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
      else chunks.length = 0;
    });
    req.on('end', () => (size > max ? reject(new Error(`request body over ${max} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/**
 * Why the admin listener must not start: off loopback without a password, anyone who can
 * reach it reads the history and the policy status. Null when it may start.
 */
export function adminExposure(listen: string, host: string, password: string): string | null {
  if (password) return null;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
  return loopback ? null : `admin.listen ${listen} is not a loopback address and admin.password is empty: set admin.password, or listen on 127.0.0.1`;
}

function send(res: http.ServerResponse, r: AdminResponse): void {
  let body: string | Buffer;
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (r.body === undefined) body = '';
  else if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) body = r.body;
  else {
    body = JSON.stringify(r.body) + '\n';
    headers['Content-Type'] ??= 'application/json';
  }
  headers['Cache-Control'] ??= 'no-store';
  res.writeHead(r.status ?? 200, headers);
  res.end(body);
}

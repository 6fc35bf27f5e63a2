/**
 * The Redis URL forms Borderpatrol accepts (store.redis / --redis):
 *
 *   redis://[[user]:password@]host[:port][/db]            standalone
 *   rediss://…                                            standalone over TLS
 *   redis+sentinel://[[user]:password@]host:port,host:port/mastername[/db]
 *   redis+cluster://[[user]:password@]host:port,host:port,…
 *
 * (rediss+sentinel:// and rediss+cluster:// use TLS.) Several hosts are what the WHATWG
 * URL parser cannot read, hence this small parser of our own.
 */

export interface HostPort {
  host: string;
  port: number;
}

interface Common {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTarget =
  | (Common & { mode: 'standalone'; host: string; port: number; db: number })
  | (Common & { mode: 'sentinel'; sentinels: HostPort[]; name: string; db: number })
  | (Common & { mode: 'cluster'; nodes: HostPort[] });

export class RedisUrlError extends Error {
  constructor(url: string, problem: string) {
    super(`store.redis "${redact(url)}": ${problem}`);
    this.name = 'RedisUrlError';
  }
}

const SCHEMES: Record<string, { mode: RedisTarget['mode']; tls: boolean; defaultPort: number }> = {
  'redis:': { mode: 'standalone', tls: false, defaultPort: 6379 },
  'rediss:': { mode: 'standalone', tls: true, defaultPort: 6379 },
  'redis+sentinel:': { mode: 'sentinel', tls: false, defaultPort: 26379 },
  'rediss+sentinel:': { mode: 'sentinel', tls: true, defaultPort: 26379 },
  'redis+cluster:': { mode: 'cluster', tls: false, defaultPort: 6379 },
  'rediss+cluster:': { mode: 'cluster', tls: true, defaultPort: 6379 },
};

export function parseRedisUrl(url: string): RedisTarget {
  const m = /^([a-z+]+:)\/\/(.*)$/i.exec(url.trim());
  const scheme = m?.[1] ? SCHEMES[m[1].toLowerCase()] : undefined;
  if (!m || !scheme) throw new RedisUrlError(url, `expected ${Object.keys(SCHEMES).map((s) => s + '//').join(', ')}`);
  let rest = m[2] ?? '';
  if (rest.includes('?') || rest.includes('#')) throw new RedisUrlError(url, 'query strings and fragments are not supported');
  const common: Common = { tls: scheme.tls };
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    const user = colon >= 0 ? auth.slice(0, colon) : '';
    const pass = colon >= 0 ? auth.slice(colon + 1) : auth;
    if (user) common.username = decodeURIComponent(user);
    if (pass) common.password = decodeURIComponent(pass);
  }
  const slash = rest.indexOf('/');
  const hostPart = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1).split('/').filter(Boolean) : [];
  const hosts = hostPart.split(',').map((h) => parseHostPort(url, h, scheme.defaultPort));
  if (hosts.length === 0 || !hostPart) throw new RedisUrlError(url, 'no host given');

  switch (scheme.mode) {
    case 'standalone': {
      if (hosts.length > 1) throw new RedisUrlError(url, 'several hosts need redis+sentinel:// or redis+cluster://');
      if (path.length > 1) throw new RedisUrlError(url, 'expected at most /DB after the host');
      const host = hosts[0] as HostPort;
      return { ...common, mode: 'standalone', host: host.host, port: host.port, db: parseDb(url, path[0]) };
    }
    case 'sentinel': {
      const name = path[0] ? decodeURIComponent(path[0]) : '';
      if (!name) throw new RedisUrlError(url, 'expected /MASTERNAME after the sentinel hosts');
      if (path.length > 2) throw new RedisUrlError(url, 'expected /MASTERNAME[/DB] after the sentinel hosts');
      return { ...common, mode: 'sentinel', sentinels: hosts, name, db: parseDb(url, path[1]) };
    }
    case 'cluster':
      if (path.length > 0) throw new RedisUrlError(url, 'a cluster has no database number or path');
      return { ...common, mode: 'cluster', nodes: hosts };
  }
}

/** Why a store.redis value cannot be used, or null when it can (empty = no Redis). */
export function redisUrlProblem(url: string): string | null {
  if (!url) return null;
  try {
    parseRedisUrl(url);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function parseHostPort(url: string, text: string, defaultPort: number): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  if (!m || !host) throw new RedisUrlError(url, `"${text}" is not HOST[:PORT] (IPv6 as [::1]:6379)`);
  const port = m[3] ? Number(m[3]) : defaultPort;
  if (port < 1 || port > 65535) throw new RedisUrlError(url, `port ${port} is out of range`);
  return { host, port };
}

function parseDb(url: string, text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  if (!/^\d{1,2}$/.test(text)) throw new RedisUrlError(url, `"${text}" is not a database number`);
  return Number(text);
}

/** The URL with its password hidden, for logs and error messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, (_m, user: string) => `//${user}:***@`).replace(/\/\/([^:@/]+)@/, '//***@');
}

import { Redis, Cluster, type RedisOptions, type ClusterOptions } from 'ioredis';
import type { RedisTarget } from '../../net/redis-url.js';
import { SCRIPTS } from './scripts.js';

export type RedisClient = Redis | Cluster;

export interface ClientOptions {
  /** Milliseconds a command may take before it fails (store.command_timeout). */
  commandTimeout: number;
  /** Milliseconds to open a TCP connection. */
  connectTimeout?: number;
}

/** Reconnect forever, backing off to at most 2 s: Redis coming back must be noticed soon. */
const backoff = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

/**
 * An ioredis client set up for a border filter (see LIBRARY-NOTES): no offline queue and
 * one retry, so a command fails within commandTimeout instead of waiting for a Redis that
 * is down (the defaults waited over a minute); reconnection continues in the background.
 */
export function createRedisClient(target: RedisTarget, options: ClientOptions): RedisClient {
  const connection: RedisOptions = {
    commandTimeout: options.commandTimeout,
    connectTimeout: options.connectTimeout ?? 2000,
    maxRetriesPerRequest: 1,
    connectionName: 'borderpatrol',
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  switch (target.mode) {
    case 'standalone':
      return new Redis({ ...connection, host: target.host, port: target.port, db: target.db, enableOfflineQueue: false, retryStrategy: backoff, scripts: { ...SCRIPTS } });
    case 'sentinel':
      return new Redis({
        ...connection,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        ...(target.tls ? { enableTLSForSentinelMode: true } : {}),
        sentinelCommandTimeout: options.commandTimeout,
        sentinelRetryStrategy: backoff,
        enableOfflineQueue: false,
        retryStrategy: backoff,
        scripts: { ...SCRIPTS },
      });
    case 'cluster': {
      const cluster: ClusterOptions = {
        enableOfflineQueue: false,
        clusterRetryStrategy: backoff,
        slotsRefreshTimeout: Math.max(1000, options.commandTimeout * 4),
        redisOptions: connection,
        scripts: { ...SCRIPTS },
      };
      return new Cluster(target.nodes, cluster);
    }
  }
}

/**
 * Count the requests a client sends (round trips for the benchmark): commands sent on their
 * own count one each; commands inside a MULTI count once, at EXEC.
 */
export function countRequests(client: RedisClient, onRequest: () => void): void {
  // ioredis does not type sendCommand's internal (command, stream, node) form; this is its shape.
  const target = client as unknown as { sendCommand(command: { name: string }, stream?: unknown, node?: unknown): unknown };
  const send = target.sendCommand.bind(target);
  target.sendCommand = (command, stream, node) => {
    if (!stream || command.name === 'exec') onRequest();
    return send(command, stream, node);
  };
}

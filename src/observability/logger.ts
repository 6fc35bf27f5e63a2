import os from 'node:os';
import { pino, type Logger } from 'pino';
import { humanDestination } from './human-log.js';

export type { Logger };

export type LogFormat = 'json' | 'human';

export function isLogFormat(v: string): v is LogFormat {
  return v === 'json' || v === 'human';
}

/**
 * One JSON line per event, or (`human`) a line a person reads at a terminal: the default
 * there, JSON everywhere else (journald, Docker, files). Level, format and destination come
 * from the options or the environment (BORDERPATROL_LOG_LEVEL, BORDERPATROL_LOG_FORMAT) so
 * that the CLI, the server and the tests share one logger shape. Every line names the host,
 * so the lines of several MX can be merged; a transaction's child logger carries its `tx`
 * id so an admin can grep one conversation end to end.
 */
export function createLogger(options: { level?: string; name?: string; stderr?: boolean; format?: LogFormat } = {}): Logger {
  const level = options.level ?? process.env.BORDERPATROL_LOG_LEVEL ?? 'info';
  // CLI commands that print results on stdout (scan --json) log to stderr instead.
  const fd = options.stderr ? 2 : 1;
  const envFormat = process.env.BORDERPATROL_LOG_FORMAT ?? '';
  const format: LogFormat = options.format ?? (isLogFormat(envFormat) ? envFormat : (fd === 2 ? process.stderr : process.stdout).isTTY ? 'human' : 'json');
  const settings = {
    name: options.name ?? 'borderpatrol',
    level,
    base: { pid: process.pid, hostname: os.hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const destination = pino.destination({ fd, sync: true });
  return pino(settings, format === 'human' ? humanDestination(destination) : destination);
}

/** A logger that drops everything, for unit tests and quiet CLI runs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

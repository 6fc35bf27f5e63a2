import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON line per event. Level and destination come from the environment so that the
 * CLI, the server and the tests share one logger shape; a transaction's child logger
 * carries its `tx` id so an admin can grep one conversation end to end.
 */
export function createLogger(options: { level?: string; name?: string; stderr?: boolean } = {}): Logger {
  const level = options.level ?? process.env.BORDERPATROL_LOG_LEVEL ?? 'info';
  // CLI commands that print results on stdout (scan --json) log to stderr instead.
  const settings = {
    name: options.name ?? 'borderpatrol',
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.stderr ? pino(settings, pino.destination(2)) : pino(settings);
}

/** A logger that drops everything, for unit tests and quiet CLI runs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

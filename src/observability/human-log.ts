/**
 * The log for a person at a terminal: one line per event, as readable as the JSON line is
 * greppable, with the same facts. `13:02:22.123 INFO  mx1 borderpatrol listening
 * address=0.0.0.0 port=25`: time, level, host, the message, then every other field.
 */

/** Fields already shown in the line's head, or of no use to a reader. */
const SHOWN = new Set(['time', 'level', 'hostname', 'msg', 'name', 'pid']);

export function formatHumanLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const time = typeof entry.time === 'string' ? entry.time.replace(/^.*T/, '').replace(/Z$/, '') : '';
  const level = String(entry.level ?? '').toUpperCase().padEnd(5);
  const fields = Object.entries(entry)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  return `${time} ${level} ${String(entry.hostname ?? '-')} ${String(entry.msg ?? '')}${fields.length ? '  ' + fields.join(' ') : ''}\n`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** A pino destination that writes the human form of each line to `out`. */
export function humanDestination(out: { write(s: string): unknown }): { write(line: string): void } {
  return { write: (line: string) => void out.write(formatHumanLine(line.trimEnd())) };
}

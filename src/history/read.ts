import type { Store } from '../stores/types.js';
import type { HistoryEntry } from './record.js';

/** The history read back: the newest `limit` entries, newest first; a line that does not parse is left out. */
export async function readHistory(store: Pick<Store, 'historyRead'>, limit: number): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  for (const line of await store.historyRead(limit)) {
    try {
      entries.push(JSON.parse(line) as HistoryEntry);
    } catch {
      // One unreadable line must not hide the rest.
    }
  }
  return entries;
}

/** What the history page filters by. */
export interface HistoryFilter {
  /** Exact final action, or '' for any. */
  action: string;
  /** Part of the client address. */
  client: string;
  /** Part of the envelope sender, any case. */
  sender: string;
}

export function matches(e: HistoryEntry, f: HistoryFilter): boolean {
  if (f.action && e.action !== f.action) return false;
  if (f.client && !e.ip.includes(f.client.trim())) return false;
  if (f.sender && !e.from.toLowerCase().includes(f.sender.trim().toLowerCase())) return false;
  return true;
}

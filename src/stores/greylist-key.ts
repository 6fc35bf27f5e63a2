/**
 * A greylist entry is addressed by a group (what entries share: the client network, which
 * is also the Redis Cluster hash tag) and an id. The admin sees and releases "GROUP|ID".
 */

export function assertGreylistGroup(group: string): void {
  if (!group || /[{}|]/.test(group)) throw new Error(`greylist group "${group}" may not be empty or contain {, } or |`);
}

export function joinGreylistKey(group: string, id: string): string {
  return `${group}|${id}`;
}

/** Split "GROUP|ID"; null when it cannot be a greylist key. */
export function splitGreylistKey(key: string): { group: string; id: string } | null {
  const bar = key.indexOf('|');
  if (bar <= 0) return null;
  const group = key.slice(0, bar);
  if (/[{}]/.test(group)) return null;
  return { group, id: key.slice(bar + 1) };
}

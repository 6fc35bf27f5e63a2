import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The Postfix and policy lines of docs/postfix.md, read from the document itself so the
 * tests run exactly what an admin copies. A block is tagged in its info string:
 * ```text master.cf mode=content_filter
 * Only the well-known port numbers are replaced by the test's free ports.
 */
export type Mode = 'mx' | 'content_filter' | 'proxy_filter' | 'milter';

export interface Recipe {
  /** main.cf settings (key → value). */
  main: Record<string, string>;
  /** master.cf lines as written ('' for milter mode, which needs none). */
  master: string;
  /** policies/server.yaml as written. */
  serverYaml: string;
}

export const RECIPES_DOC = path.resolve('docs/postfix.md');

export async function readRecipe(mode: Mode): Promise<Recipe> {
  const text = await fs.readFile(RECIPES_DOC, 'utf8');
  const blocks = new Map<string, string>();
  const fence = /^```(\S*) +(\S+) +mode=(\S+)\n([\s\S]*?)^```$/gm;
  for (const m of text.matchAll(fence)) {
    if (m[3] === mode) blocks.set(m[2] as string, m[4] as string);
  }
  const main: Record<string, string> = {};
  for (const line of (blocks.get('main.cf') ?? '').split('\n')) {
    const kv = /^([a-z_0-9]+)\s*=\s*(.*)$/.exec(line.trim());
    if (kv) main[kv[1] as string] = (kv[2] as string).trim();
  }
  // A milter needs no Postfix service of its own: main.cf says where it listens.
  const master = blocks.get('master.cf') ?? (mode === 'milter' ? '' : undefined);
  const serverYaml = blocks.get('policies/server.yaml');
  if (master === undefined || !serverYaml) throw new Error(`docs/postfix.md has no master.cf or server.yaml block for mode=${mode}`);
  if (mode === 'milter' && !main.smtpd_milters) throw new Error('docs/postfix.md has no main.cf block with smtpd_milters for mode=milter');
  return { main, master, serverYaml };
}

export interface Ports {
  /** Borderpatrol behind Postfix (10024). */
  filter?: number;
  /** Postfix behind Borderpatrol in mode mx (10025). */
  relay?: number;
  /** Postfix's reinjection listener (10026). */
  reinject?: number;
  /** Postfix's public smtpd (the `smtp inet` line, port 25). */
  front?: number;
}

/**
 * The recipe with the test's ports in place of 10024/10025/10026 and the public `smtp inet`
 * service bound to a loopback port (without chroot: the test instance has no chroot tree).
 */
export function placeRecipe(r: Recipe, ports: Ports): Recipe {
  const swap = (s: string): string =>
    s
      .replace(/\b10024\b/g, String(ports.filter ?? 10024))
      .replace(/\b10025\b/g, String(ports.relay ?? 10025))
      .replace(/\b10026\b/g, String(ports.reinject ?? 10026));
  const master = swap(r.master)
    .split('\n')
    .map((line) => {
      const m = /^smtp(\s+)inet(\s+\S+\s+\S+\s+)\S+(\s+.*)$/.exec(line);
      if (!m) return line;
      if (!ports.front) throw new Error('the recipe changes the smtp inet service: give ports.front');
      return `127.0.0.1:${ports.front}${m[1]}inet${m[2]}n${m[3]}`;
    })
    .join('\n');
  const main = Object.fromEntries(Object.entries(r.main).map(([k, v]) => [k, swap(v)]));
  return { main, master, serverYaml: swap(r.serverYaml) };
}

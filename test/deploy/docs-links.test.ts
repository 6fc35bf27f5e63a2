import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';

/** GitHub's heading anchors: lower case, punctuation dropped (except - and _), spaces to -. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

async function anchors(file: string): Promise<Set<string>> {
  const text = await fs.readFile(file, 'utf8');
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const m = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) out.add(slug(m[1] as string));
  }
  return out;
}

/** The deployment docs route an admin by links: every one must land on a file and heading that exist. */
test('links in README.md and docs/*.md point at files and headings that exist', async () => {
  const files = ['README.md', ...(await fs.readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];
  let checked = 0;
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/.test(target)) continue;
      const [rel, anchor] = target.split('#') as [string, string | undefined];
      const dest = rel ? path.join(path.dirname(file), rel) : file;
      assert.ok(fsSync.existsSync(dest), `${file}: link to missing ${target}`);
      if (anchor) assert.ok((await anchors(dest)).has(anchor), `${file}: no heading #${anchor} in ${dest}`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `only ${checked} links checked`);
});

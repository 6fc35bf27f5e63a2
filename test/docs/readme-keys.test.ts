import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { policyKeys } from '../../src/policy/describe.js';

/**
 * README promises that every policy key is documented. The key list comes from the schema,
 * so a key added to the code without a README row fails here.
 */
const CHECK_BASE = new Set(['enabled', 'dry_run', 'on_error', 'timeout']);

test('README documents every policy key', async () => {
  const readme = await fs.readFile('README.md', 'utf8');
  const checkSectionsSentence = /Every check section \(([^)]*)\)/.exec(readme)?.[1] ?? '';
  const documented = (path: string): boolean => {
    if (readme.includes('`' + path + '`')) return true;
    // The four keys every check section carries are documented once, naming the sections.
    const [section = '', key = ''] = path.split('.');
    if (CHECK_BASE.has(key) && path.split('.').length === 2 && checkSectionsSentence.includes('`' + section + '`')) return true;
    // Maps (symbols.NAME, lists.NAME) and families documented as `section.*` or `a.b`, `a.c` rows.
    const parts = path.split('.');
    for (let i = parts.length - 1; i >= 1; i--) {
      const prefix = parts.slice(0, i).join('.');
      if (readme.includes('`' + prefix + '.*`')) return true;
    }
    return false;
  };
  const missing = policyKeys()
    .map((k) => k.path)
    .filter((p) => p !== 'symbols' && p !== 'lists' && !documented(p));
  assert.deepEqual(missing, [], `README.md lacks rows for: ${missing.join(', ')}`);
});

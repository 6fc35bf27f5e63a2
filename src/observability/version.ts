import fs from 'node:fs';

/**
 * This build's version, from package.json (two levels up from both src/observability/ and
 * dist/observability/), so `--version`, the startup line and rspamd's /stat agree.
 */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();

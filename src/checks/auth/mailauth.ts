import { createRequire, Module } from 'node:module';
import type * as Mailauth from 'mailauth';

/**
 * mailauth's authenticate(), loaded without its BIMI part. mailauth's entry module requires
 * its BIMI modules as it loads, whether or not BIMI is ever asked for, and they bring an HTTP
 * client (undici), X.509 and SVG parsers: about 6 MB of heap held for the server's life. The
 * auth check always passes disableBimi (BIMI is about logos in mail clients, not spam), so
 * those two modules are replaced, before mailauth loads, by stand-ins whose functions fail if
 * ever called. A mailauth that no longer has them there simply loads whole.
 */
const require = createRequire(import.meta.url);
const BIMI_MODULES = ['mailauth/lib/bimi', 'mailauth/lib/bimi/validate-svg'];

for (const id of BIMI_MODULES) {
  let file: string;
  try {
    file = require.resolve(id);
  } catch {
    continue;
  }
  if (require.cache[file]) continue;
  const standIn = new Module(file);
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = new Proxy(
    {},
    {
      get: (_target, name) => () => {
        throw new Error(`mailauth's BIMI (${String(name)}) is not loaded in Borderpatrol`);
      },
    },
  );
  require.cache[file] = standIn;
}

const mailauth = require('mailauth') as typeof Mailauth;
export const authenticate: typeof Mailauth.authenticate = mailauth.authenticate;

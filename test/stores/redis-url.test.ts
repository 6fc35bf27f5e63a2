import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedisUrl, redact, redisUrlProblem } from '../../src/net/redis-url.js';

describe('Redis URL forms', () => {
  it('reads standalone URLs with auth, db and TLS', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { tls: false, mode: 'standalone', host: '127.0.0.1', port: 6380, db: 2 });
    assert.deepEqual(parseRedisUrl('rediss://user:p%40ss@redis.example:6390'), { tls: true, username: 'user', password: 'p@ss', mode: 'standalone', host: 'redis.example', port: 6390, db: 0 });
    assert.deepEqual(parseRedisUrl('redis://:secret@[::1]'), { tls: false, password: 'secret', mode: 'standalone', host: '::1', port: 6379, db: 0 });
  });

  it('reads Sentinel and Cluster host lists', () => {
    assert.deepEqual(parseRedisUrl('redis+sentinel://10.0.0.1:26379,10.0.0.2/mymaster/1'), {
      tls: false,
      mode: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      db: 1,
    });
    assert.deepEqual(parseRedisUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001'), {
      tls: false,
      mode: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
    });
  });

  it('says what is wrong with a bad URL', () => {
    assert.match(redisUrlProblem('http://x') ?? '', /expected redis:\/\//);
    assert.match(redisUrlProblem('redis+sentinel://a:1,b:2') ?? '', /MASTERNAME/);
    assert.match(redisUrlProblem('redis://a:1,b:2') ?? '', /several hosts/);
    assert.match(redisUrlProblem('redis://a:99999') ?? '', /out of range/);
    assert.match(redisUrlProblem('redis://a/x') ?? '', /not a database number/);
    assert.match(redisUrlProblem('redis+cluster://a:1/0') ?? '', /no database/);
    assert.equal(redisUrlProblem(''), null);
  });

  it('never shows a password', () => {
    assert.equal(redact('redis://user:secret@h:1'), 'redis://user:***@h:1');
    assert.match(redisUrlProblem('redis://u:topsecret@h:1,h:2') ?? '', /^(?!.*topsecret)/);
  });
});

/** The Origin allow-list of browser sockets. */
import t from 'tap';
import { OriginPolicy } from '../src/auth/origin-policy.js';

t.test('an empty list allows every origin', async (t) => {
  const policy = new OriginPolicy('');
  t.ok(policy.open);
  t.ok(policy.allows('https://evil.example'));
  t.ok(policy.allows(''));
});

t.test('a list allows its origins (case and trailing slash aside) and no other; no Origin passes', async (t) => {
  const policy = new OriginPolicy(' https://www.example-air.com , http://localhost:8088/ ');
  t.notOk(policy.open);
  t.ok(policy.allows('https://www.example-air.com'));
  t.ok(policy.allows('HTTPS://WWW.EXAMPLE-AIR.COM'));
  t.ok(policy.allows('http://localhost:8088'));
  t.notOk(policy.allows('http://localhost:8089'), 'another port');
  t.notOk(policy.allows('http://www.example-air.com'), 'another scheme');
  t.notOk(policy.allows('https://www.example-air.com.evil.example'), 'a suffix');
  t.notOk(policy.allows('null'), 'opaque origin (sandboxed frame, file:)');
  t.ok(policy.allows(''), 'not a browser: the token decides');
});

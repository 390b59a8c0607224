/** The error catalogue: complete, consistent, and mirrored by the protocol reference's table. */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CloseCode, ERRORS, ServiceError, restErrorBody } from '../src/errors.js';

const protocolDoc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

t.test('every code has an HTTP error status and a message', async (t) => {
  for (const [code, entry] of Object.entries(ERRORS)) {
    t.match(code, /^[a-z_]+$/, `${code} is snake_case, as frames carry it`);
    t.ok(entry.status >= 400 && entry.status < 600, `${code} → ${entry.status}`);
    t.ok(entry.message.length > 10 && entry.message.endsWith('.'), `${code} has a sentence for a message`);
  }
});

t.test('docs/protocol.md lists exactly the catalogue, with the same statuses', async (t) => {
  const section = protocolDoc.slice(protocolDoc.indexOf('## Error codes'));
  const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  t.same(rows, Object.entries(ERRORS).map(([code, e]) => [code, e.status]));
});

t.test('REST error bodies have one shape', async (t) => {
  t.same(restErrorBody('session_not_found'), {
    error: { code: 'session_not_found', message: 'Session not found.', status: 404 },
    detail: 'Session not found.',
  });
  const withFields = restErrorBody('validation_failed', 'bad', [{ field: 'message', message: 'is required' }]);
  t.same(withFields.error.fields, [{ field: 'message', message: 'is required' }]);
  const err = new ServiceError('rate_limited');
  t.equal(err.status, 429);
  t.equal(err.message, ERRORS.rate_limited.message);
});

t.test('close codes are protocol codes or 4xxx codes mirroring HTTP statuses', async (t) => {
  for (const [name, code] of Object.entries(CloseCode)) {
    t.ok((code >= 1000 && code <= 1015) || (code >= 4000 && code <= 4999), `${name} = ${code}`);
  }
  t.equal(CloseCode.sessionNotFound - 4000, ERRORS.session_not_found.status);
  t.equal(CloseCode.tooManyConnections - 4000, ERRORS.too_many_connections.status);
  t.match(protocolDoc, /4404 unknown session/);
});

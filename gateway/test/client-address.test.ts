/** Which address per-address limits key on, behind trusted reverse proxies or none. */
import t from 'tap';
import { clientAddressFrom } from '../src/http/remote-address.js';

t.test('no trusted proxy: the TCP peer, whatever the header says', async (t) => {
  t.equal(clientAddressFrom('203.0.113.7', '10.0.0.2', 0), '10.0.0.2');
});

t.test('one trusted proxy: the address it appended, never what the client wrote before it', async (t) => {
  t.equal(clientAddressFrom('203.0.113.7', '10.0.0.2', 1), '203.0.113.7', 'the client, as the proxy saw it');
  t.equal(clientAddressFrom('1.1.1.1, 203.0.113.7', '10.0.0.2', 1), '203.0.113.7', 'a forged entry to the left is ignored');
  t.equal(clientAddressFrom('2001:db8::1', '10.0.0.2', 1), '2001:db8::1', 'IPv6');
  t.equal(clientAddressFrom('[2001:db8::1]', '10.0.0.2', 1), '2001:db8::1', 'bracketed IPv6');
  t.equal(clientAddressFrom('', '10.0.0.2', 1), '10.0.0.2', 'no header: the peer');
  t.equal(clientAddressFrom('not-an-address', '10.0.0.2', 1), '10.0.0.2', 'a malformed entry: the peer');
  t.equal(clientAddressFrom(`${'9'.repeat(200)}`, '10.0.0.2', 1), '10.0.0.2', 'an over-long entry: the peer');
});

t.test('two trusted proxies: two places from the right', async (t) => {
  t.equal(clientAddressFrom('6.6.6.6, 203.0.113.7, 10.0.0.9', '10.0.0.2', 2), '203.0.113.7');
  t.equal(clientAddressFrom('203.0.113.7', '10.0.0.2', 2), '203.0.113.7', 'fewer entries than hops: the leftmost');
});

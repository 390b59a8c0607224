// Run by deploy/test-image-uws.sh inside a Debian 13 root: loads uWebSockets.js through the
// gateway's own loader (gateway/dist/uws-loader.js, copied beside this file) with the shim
// refused, as the images run it, then makes an HTTP request and a WebSocket round trip on
// loopback. Exits 0 only when all of it worked; prints one line per step.
import assert from 'node:assert/strict';
import { loadUws } from './uws-loader.js';
import WebSocket from 'ws';

const report = process.report?.getReport();
const glibc = report?.header?.glibcVersionRuntime ?? 'unknown';
console.log(`node ${process.version} (modules ABI ${process.versions.modules}), glibc ${glibc}`);

const build = loadUws({ allowShim: false });
assert.equal(build.source, 'uws-modern', `the loader took ${build.source}; passed over: ${build.skipped.join(' | ')}`);
assert.equal(build.native, true, 'a native build');
console.log(`loaded: ${build.source}, native`);

const { uws } = build;
const listenSocket = await new Promise((resolve, reject) => {
  uws
    .App()
    .get('/health', (res) => {
      res.writeHeader('content-type', 'text/plain').end('ok');
    })
    .ws('/ws', {
      message: (ws, message, isBinary) => {
        ws.send(message, isBinary);
      },
    })
    .listen('127.0.0.1', 0, (token) => (token ? resolve(token) : reject(new Error('listen failed'))));
});
const port = uws.us_socket_local_port(listenSocket);
console.log(`listening on 127.0.0.1:${port}`);

const response = await fetch(`http://127.0.0.1:${port}/health`);
assert.equal(response.status, 200);
assert.equal(await response.text(), 'ok');
console.log('HTTP round trip: 200 ok');

const echoed = await new Promise((resolve, reject) => {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
  socket.on('open', () => socket.send('round trip through uws-modern'));
  socket.on('message', (data) => {
    clearTimeout(timer);
    socket.close(1000);
    resolve(data.toString());
  });
  socket.on('error', reject);
});
assert.equal(echoed, 'round trip through uws-modern');
console.log('WebSocket round trip: echoed');

uws.us_listen_socket_close(listenSocket);
console.log('PASS');
process.exit(0);

/**
 * The floor's bare gateway: uWebSockets.js (the build the gateway loads), one socket per session
 * (`/?s=<session>`), its channel subscribed on one sharded-pub/sub connection when the socket
 * opens (then `subscribed` is sent to it), each message sent to its session's socket as it comes,
 * and each question a socket sends pushed onto the queue as it comes. No validation, no
 * admission, no custody, no metrics.
 */
import { loadUws } from '@chat/gateway';
import { createRedisConnection } from '@chat/shared';
import { FLOOR_QUEUE_KEY, floorChannel, type FloorCounts, type FloorQuestion, type FloorRoleSettings } from './floor-protocol.js';

interface SocketData {
  session: number;
}

export async function runFloorGateway(settings: FloorRoleSettings): Promise<{ counts: FloorCounts; port: number }> {
  const { uws } = loadUws({ allowShim: false });
  const subscriber = createRedisConnection(settings.redisUrl, { name: 'floor-gateway-sub' });
  const commands = createRedisConnection(settings.redisUrl, { name: 'floor-gateway' });
  const sockets = new Map<string, { send(message: Buffer, isBinary: boolean): unknown }>();
  subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
    sockets.get(channel.toString('latin1'))?.send(message, false);
  });
  const app = uws.App().ws<SocketData>('/*', {
    upgrade: (res, req, context) => {
      res.upgrade({ session: Number(req.getQuery('s')) }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const channel = floorChannel(ws.getUserData().session);
      sockets.set(channel, ws);
      subscriber.ssubscribe(channel).then(
        () => ws.send('subscribed'),
        (err: unknown) => ws.end(1011, String(err)),
      );
    },
    message: (ws, message) => {
      const { seq } = JSON.parse(Buffer.from(message).toString('utf8')) as Pick<FloorQuestion, 'seq'>;
      const question: FloorQuestion = { session: ws.getUserData().session, seq };
      void commands.rpush(FLOOR_QUEUE_KEY, JSON.stringify(question));
    },
    close: (ws) => {
      sockets.delete(floorChannel(ws.getUserData().session));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (token) => (token ? resolve(uws.us_socket_local_port(token)) : reject(new Error('the floor gateway could not listen'))));
  });
  return { counts: {}, port };
}

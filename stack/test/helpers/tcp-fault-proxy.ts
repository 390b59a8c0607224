import { createServer, connect, type Server, type Socket } from 'node:net';

interface ProxiedConnection {
  client: Socket;
  upstream: Socket;
  /** The client sent a SUBSCRIBE or PSUBSCRIBE on it: a pub/sub connection. */
  subscriber: boolean;
  /** Bytes from the server are dropped: the client sees an open, silent connection. */
  silenced: boolean;
}

/**
 * A loopback TCP proxy in front of a Redis, for faults the real server cannot be made to show:
 * a connection that stays open while its replies stop coming (a half-open TCP connection, a
 * subscription the server dropped without telling). Toxiproxy cannot be installed here.
 */
export class TcpFaultProxy {
  private readonly connections = new Set<ProxiedConnection>();
  private readonly server: Server;
  port = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpFaultProxy> {
    const proxy = new TcpFaultProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.port = address.port;
    return proxy;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    const connection: ProxiedConnection = { client, upstream, subscriber: false, silenced: false };
    this.connections.add(connection);
    client.on('data', (chunk: Buffer) => {
      // RESP bulk strings: ioredis sends the command name as `$9\r\nsubscribe\r\n`.
      if (!connection.subscriber && /\$(?:9|10)\r\n[ps]?subscribe\r\n/i.test(chunk.toString('latin1'))) connection.subscriber = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!connection.silenced) client.write(chunk);
    });
    const end = () => {
      this.connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Silences every pub/sub connection open now (later ones pass); returns how many. */
  silenceSubscribers(): number {
    let silenced = 0;
    for (const connection of this.connections) {
      if (connection.subscriber && !connection.silenced) {
        connection.silenced = true;
        silenced++;
      }
    }
    return silenced;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) {
      connection.client.destroy();
      connection.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

import { createServer, type Server } from 'node:http';
import type { Registry } from '@chat/shared';

export interface HealthReport {
  healthy: boolean;
  [key: string]: unknown;
}

/**
 * The worker's small HTTP side door: `/metrics` for Prometheus and `/health` for probes. The
 * worker serves no client traffic, so plain node:http is enough here.
 */
export class MetricsServer {
  private server: Server | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly health: () => Promise<HealthReport>,
  ) {}

  listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      if (path === '/metrics') {
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      } else if (path === '/health') {
        this.health().then(
          (report) => res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report)),
          () => res.writeHead(503).end(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

import { connect } from 'node:net';

/** Why the launcher will not start: something already answers on the gateways' port. */
export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly servedBy: 'this service' | 'another program',
  ) {
    super(
      servedBy === 'this service'
        ? `port ${port} is already served by a gateway of this service (another \`pnpm start\`?). ` +
            `Gateways share a port on purpose (SO_REUSEPORT), so a second stack would silently join the first. ` +
            `Stop the other one, or start this one on another port: PORT=${port + 1} pnpm start`
        : `port ${port} on ${host} is already in use by another program. Stop it, or start on another port: PORT=${port + 1} pnpm start`,
    );
    this.name = 'PortInUseError';
  }
}

/**
 * Whether something accepts connections on host:port. A gateway binds with SO_REUSEPORT, so a
 * second stack's gateways would bind the same port without an error and the kernel would
 * spread connections over both stacks (different Redis, different sessions): the launcher
 * probes first and refuses instead.
 */
export async function probePort(host: string, port: number, timeoutMs = 1000): Promise<'free' | 'this service' | 'another program'> {
  const open = await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
  if (!open) return 'free';
  try {
    const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as { service?: unknown };
    return body.service === 'scalable-chatbot-svc' ? 'this service' : 'another program';
  } catch {
    return 'another program';
  }
}

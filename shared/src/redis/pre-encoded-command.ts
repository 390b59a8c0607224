import { Command } from 'ioredis';

/**
 * An ioredis command whose bytes on the wire the caller built itself, in one buffer.
 *
 * ioredis encodes a command when it writes it (`toWritable`): for a command with a Buffer
 * argument it measures every argument, collects strings and buffers in a list and joins them
 * into a new buffer, a third of a worker's CPU per streamed frame. A caller that sends the same
 * command shape thousands of times a second builds it once per turn instead (see
 * TurnFrameWriter) and hands the bytes over here. Everything else stays ioredis's: the reply,
 * its promise, the command queue, the offline queue, reconnects. `routingArgs` are the command's
 * leading arguments up to and including its keys, so that a Cluster client finds the keys' slot
 * (and redirects on MOVED/ASK) as for any command; the wire bytes must be the same command.
 */
export class PreEncodedCommand extends Command {
  constructor(
    name: string,
    routingArgs: string[],
    private readonly wire: Buffer,
  ) {
    super(name, routingArgs);
  }

  override toWritable(): Buffer {
    return this.wire;
  }
}

/** The RESP bulk string header of an argument of `bytes` bytes: `$<bytes>\r\n`. */
export function bulkHeader(bytes: number): string {
  return `$${bytes}\r\n`;
}

/** One whole RESP bulk string for an ASCII or UTF-8 argument. */
export function bulkString(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

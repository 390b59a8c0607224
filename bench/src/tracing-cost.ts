/**
 * What tracing costs per turn: the span work one turn does on its way (gateway accept with the
 * traceparent injected into the job, worker queue wait + turn + context/model/publish phases,
 * the traceparent on the complete frame, the relaying gateway's span parented from it), timed in
 * CPU with tracing off and on. "On" exports for real: OTLP/HTTP, batched, to a loopback sink that
 * discards, and the time includes serialising and sending every span. The sink runs in this
 * process too, so its CPU is counted (an overestimate). Never imported.
 *
 *   node bench/dist/tracing-cost.js [turns=20000]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, Tracing } from '@chat/shared';

async function oneTurn(tracing: Tracing, n: number): Promise<void> {
  const acceptedAt = Date.now();
  let traceparent: string | undefined;
  // Gateway: accept (tracing off: no span at all, as TurnIntake does).
  if (tracing.enabled) {
    const accept = tracing.startSpan('chat.accept', { kind: SpanKind.SERVER, attributes: { 'chat.via': 'ws' } });
    traceparent = tracing.traceparentOf(accept);
    accept.setAttributes({ 'chat.message_id': `m${n}`, 'chat.duplicate': false });
    accept.end();
  }
  // Worker: queue wait, turn, three phases (TurnTrace).
  let turnParent: string | undefined;
  if (tracing.enabled) {
    const attributes = { 'chat.message_id': `m${n}`, 'chat.attempt': 1 };
    tracing.startSpan('chat.queue_wait', { parent: traceparent, startTime: acceptedAt, attributes }).end();
    const turn = tracing.startSpan('chat.turn', { parent: traceparent, kind: SpanKind.CONSUMER, attributes });
    for (const name of ['chat.context', 'chat.model', 'chat.publish']) {
      const span = tracing.startSpan(name, { parent: tracing.contextOf(turn) });
      await Promise.resolve();
      span.setAttributes({ 'llm.completion_tokens': 120, 'llm.first_token_ms': 400 });
      span.end();
    }
    turnParent = tracing.traceparentOf(turn);
    turn.setAttribute('chat.outcome', 'completed');
    turn.end();
  } else {
    for (let i = 0; i < 3; i++) await Promise.resolve();
  }
  // Gateway: relay span from the frame's traceparent.
  if (tracing.enabled && turnParent) tracing.startSpan('chat.relay', { parent: turnParent, kind: SpanKind.CONSUMER, startTime: acceptedAt }).end();
}

async function measure(tracing: Tracing, turns: number): Promise<{ cpuUsPerTurn: number; wallUsPerTurn: number }> {
  for (let i = 0; i < 2000; i++) await oneTurn(tracing, i); // warm-up
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  for (let i = 0; i < turns; i++) {
    await oneTurn(tracing, i);
    // Flush every 200 turns (1400 spans): below the batch queue's 2048, so no span is dropped
    // and every one is serialised and sent inside the measurement.
    if (i % 200 === 199) await tracing.flush();
  }
  await tracing.close();
  const used = process.cpuUsage(cpu);
  return { cpuUsPerTurn: (used.user + used.system) / turns, wallUsPerTurn: Number(process.hrtime.bigint() - wall) / 1000 / turns };
}

async function main(): Promise<void> {
  const turns = Number(process.argv[2] ?? 20_000);
  let exportedBytes = 0;
  const sink = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (exportedBytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const off = await measure(Tracing.off(), turns);
  const exporting = Tracing.fromEndpoint('bench', endpoint);
  await exporting.ready();
  const on = await measure(exporting, turns);
  sink.close();
  const line = (label: string, r: { cpuUsPerTurn: number; wallUsPerTurn: number }) =>
    `${label.padEnd(4)} ${r.cpuUsPerTurn.toFixed(1).padStart(7)} µs CPU/turn ${r.wallUsPerTurn.toFixed(1).padStart(7)} µs wall/turn`;
  process.stdout.write(
    [
      `tracing cost, ${turns} turns (7 spans per turn when on), node ${process.version}`,
      line('off', off),
      line('on', on),
      `on − off: ${(on.cpuUsPerTurn - off.cpuUsPerTurn).toFixed(1)} µs CPU per turn; ${(exportedBytes / turns).toFixed(0)} bytes of OTLP/HTTP JSON exported per turn`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

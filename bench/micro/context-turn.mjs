// Micro-benchmark of a turn's context step in the worker, CPU time (process.cpuUsage: less
// sensitive to other load than wall time): the question and the previous question scrubbed by
// the turn's vault for the context, the context assembled with the embedded sources, then the
// question scrubbed again for the prompt; the bench's question on a session with flight NZ123 (a
// flight record, its passage and data version), each question made unique as the bench's are.
// Median of 5 windows.
// Usage (after pnpm build): node bench/micro/context-turn.mjs
// Against another checkout:  node bench/micro/context-turn.mjs /tmp/before   (its root, built)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? '.');
const load = (path) => import(pathToFileURL(resolve(root, path)).href);
const { ContextAssembler, EmbeddedFlightSource, EmbeddedPolicySource } = await load('worker/dist/context/index.js');
const { PiiVault } = await load('shared/dist/index.js');

const assembler = new ContextAssembler({ policy: new EmbeddedPolicySource(), flight: new EmbeddedFlightSource() });
const session = { flight_no: 'NZ123', date: null };
async function turns(count, from) {
  for (let i = from; i < from + count; i++) {
    const message = `I need information about flight NZ123 from Auckland to Sydney (ref t${i.toString(36)})`;
    const vault = new PiiVault('masked');
    const question = vault.scrub(message);
    // As a turn does: the previous question for the context, then the question for the prompt.
    const previous = vault.scrub(`What is the baggage allowance on NZ123? (ref p${i.toString(36)})`);
    await assembler.assemble({ message: question, session, previous });
    vault.scrub(message);
  }
}

await turns(3000, 0);
const perTurnUs = [];
for (let w = 0; w < 5; w++) {
  const before = process.cpuUsage();
  await turns(4000, 3000 + w * 4000);
  const used = process.cpuUsage(before);
  perTurnUs.push((used.user + used.system) / 4000);
}
perTurnUs.sort((a, b) => a - b);
console.log(`${root}: ${perTurnUs[2].toFixed(1)} µs CPU per turn (median of 5 windows: ${perTurnUs.map((v) => v.toFixed(1)).join(' ')})`);

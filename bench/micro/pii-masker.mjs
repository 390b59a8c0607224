// Micro-benchmark of the PII masker, CPU time (process.cpuUsage: less sensitive to other load than
// wall time). (1) per answer token: the stream scrubber over four realistic answers, tokens of
// 1-5 characters; (2) per question: detectPii over six customer messages (with and without data).
// Usage (after pnpm build): node bench/micro/pii-masker.mjs shared/dist/pii/index.js
// Against another checkout: node bench/micro/pii-masker.mjs /tmp/pii-before/shared/dist/pii/index.js
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
const { PiiVault, StreamScrubber, detectPii } = await import(pathToFileURL(resolve(process.argv[2] ?? "shared/dist/pii/index.js")).href);
const answers = [
  'Your checked baggage allowance on this fare is two bags of 23 kg each; carry-on must fit the sizer (55 x 35 x 23 cm) and weigh 7 kg at most. [1]',
  'Flight NZ123 leaves Auckland at 14:30 on 2026-12-01 from gate 12 and arrives in Sydney at 16:05 local time. Check-in closes 60 minutes before. [2]',
  'You can change your booking up to 24 hours before departure for a fee of $75 (NZD), plus any fare difference. Refunds take 7–10 business days. [3]',
  'I cannot confirm a live status here; please check the app or call our contact centre on [PHONE_1] and we will write to [EMAIL_1] once it is done.',
];
const questions = [
  'Can I change my flight NZ123 on 2026-12-01?',
  'my card 4111 1111 1111 1111 was charged twice, email me at ana@example.com',
  'How many bags can I take?',
  'call me on 021 123 4567 please, booking ABC123',
  'What is the fee for a seat upgrade on the 14:30 flight?',
  'LA1234567 is my passport, is it valid for 6 months?',
];
const streams = answers.map((text) => text.match(/\s?\S{1,5}/g));
const tokenCount = streams.reduce((n, s) => n + s.length, 0);
function perToken(rounds) {
  for (let r = 0; r < rounds; r++) {
    const vault = new PiiVault();
    vault.scrub('my number is 021 123 4567 and my email is ana@example.com');
    for (const stream of streams) {
      const scrubber = new StreamScrubber(vault);
      for (const t of stream) scrubber.push(t);
      scrubber.end();
    }
  }
}
function perQuestion(rounds) {
  for (let r = 0; r < rounds; r++) for (const q of questions) detectPii(q);
}
const cpu = (f, rounds) => { const t0 = process.cpuUsage(); f(rounds); const d = process.cpuUsage(t0); return (d.user + d.system) * 1000; }; // ns
perToken(300); perQuestion(300);
const tok = [], que = [];
for (let k = 0; k < 5; k++) {
  tok.push(cpu(perToken, 2000) / (2000 * tokenCount));
  que.push(cpu(perQuestion, 2000) / (2000 * questions.length));
}
const med = (xs) => xs.sort((a, b) => a - b)[2];
console.log(`answer: ${(med(tok) / 1000).toFixed(2)} µs CPU per token; question: ${(med(que) / 1000).toFixed(1)} µs CPU per message`);

// One-off timing of detectPii on hostile 4 000-character messages (wall time, each once).
// Usage (after pnpm build): node bench/micro/pii-hostile.mjs [path to shared/dist]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
const { detectPii } = await import(pathToFileURL(resolve(process.argv[2] ?? "shared/dist", "pii/index.js")).href);
const inputs = {
  digits: '4'.repeat(4000),
  spacedDigits: '1 '.repeat(2000),
  dottedDigits: '12.'.repeat(1300),
  ats: 'a@'.repeat(2000),
  emailish: 'a.'.repeat(1000) + '@' + 'b.'.repeat(900) + 'com',
  passports: 'passport LA1234567 '.repeat(200),
  phones: '021 123 4567, '.repeat(280),
  fullwidth: '４'.repeat(4000),
  mixed: 'pass port 1 2 3 4 5 6 7 8 9 '.repeat(140),
};
for (const [name, text] of Object.entries(inputs)) {
  const t0 = process.hrtime.bigint();
  const n = detectPii(text).length;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(name.padEnd(14), text.length, 'chars', n, 'spans', ms.toFixed(1), 'ms');
}

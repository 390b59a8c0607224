// Micro-benchmark of the worker's SSE reader per event: 400 000 content events as the offline
// model writes them (8 tokens, two with escapes) through the reader and its event dispatch, CPU
// time (process.cpuUsage), three rounds. A checkout without `completionEventReader` (before
// issue 17) is measured with its SseReader and JSON.parse of every event, as its client did.
// Usage (after pnpm build): node bench/micro/sse-reader.mjs [checkout dir]
const dir = (await import('node:path')).resolve(process.argv[2] ?? '.');
const m = await import(`${dir}/worker/dist/llm-client.js`);
const completionEventReader = m.completionEventReader ?? ((h, onChunk) => new m.SseReader((e, d) => { if (d.startsWith("[DONE]")) return; const c = JSON.parse(d); if (c && c.error) throw new Error(); onChunk(c); }));
const head='data: {"id":"chatcmpl-abcdefabcdef0123","object":"chat.completion.chunk","created":1733460000,"model":"offline-grounded","system_fingerprint":"fp_offline","choices":[{"index":0,"delta":{"content":';
const toks=[' the',' baggage',' allowance',' is',' 23','kg','.\n',' "Hi"'];
const events=toks.map(t=>head+JSON.stringify(t)+'},"logprobs":null,"finish_reason":null}],"usage":null}\n\n');
let n=0; const r=completionEventReader(new Headers(), (c)=>{n++}, (v)=>{n++});
const N=400000;
for(let k=0;k<3;k++){const c0=process.cpuUsage();for(let i=0;i<N;i++)r.feed(events[i&7]);const c=process.cpuUsage(c0);console.log(dir.split('/').pop(),((c.user+c.system)/N).toFixed(3),'µs/event')}

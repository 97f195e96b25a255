// The expressions of bench/FlowFleet.Benchmarks/JsonataRun.cs timed in Node.js with Node-RED 4's own jsonata build
// (async, as Node-RED awaits it): µs per evaluation, for the comparison in bench/README.md.
//   node bench/server/jsonata-node.mjs [N]     (Node-RED installed by ./test.sh in ~/.cache/flowfleet/node-red)
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const jsonata = require(join(homedir(), '.cache/flowfleet/node-red/node_modules/@node-red/util/lib/jsonata.js'));
const n = Number(process.argv[2] || 20000);
const cases = [
  ['constant', '42'],
  ['path', 'payload.apower'],
  ['arithmetic', 'payload.apower * 2 + 1'],
  ['condition', "payload.apower >= 50 ? 'high' : 'low'"],
  ['string', "$uppercase(topic) & '/' & $string(payload.seq)"],
  ['object', "{'site': 'plant-1', 'watts': payload.apower * 2, 'on': payload.output}"],
  ['array sum', '$sum(payload.samples)'],
  ['map filter', 'payload.samples[$ > 2].($ * 10)'],
  ['merge (bench flow)', "$merge([payload, {'site': 'plant-1', 'watts': payload.apower * 2, 'level': payload.apower >= 50 ? 'high' : 'low'}])"],
  ['round', '$round(payload.apower / 3, 2)'],
];
const msg = { _msgid: '6b1d0a5c3e2f4a10', topic: 'device/7', payload: { seq: 7, apower: 52.5, output: true, samples: [1, 2, 3, 4, 5] } };
console.log('| expression | µs/eval (Node.js) | result |\n| --- | --- | --- |');
for (const [name, text] of cases) {
  const expr = jsonata(text);
  let result;
  for (let i = 0; i < Math.max(200, n / 10); i++) { result = await expr.evaluate(msg); }
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) { result = await expr.evaluate(msg); }
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  console.log(`| ${name} \`${text}\` | ${us.toFixed(1)} | ${JSON.stringify(result)} |`);
}

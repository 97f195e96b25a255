// Runs JSONata's own test suite (test/test-suite of the jsonata repository, tag v2.2.2) against a jsonata build:
//   node tools/jsonata/suite.mjs <jsonata.js> <path/to/test-suite>
// Used to check that the generated synchronous bundle gives what the npm package gives (see build.mjs).
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const require = createRequire(import.meta.url);
const jsonata = require(resolve(process.argv[2]));
const suite = process.argv[3];
const datasets = {};
for (const name of readdirSync(join(suite, 'datasets'))) {
  datasets[name.replace('.json', '')] = JSON.parse(readFileSync(join(suite, 'datasets', name), 'utf8'));
}
// Results compared as JSON (sequences carry extra properties that deep equality would see).
const plain = v => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
let passed = 0;
const failed = [];
for (const group of readdirSync(join(suite, 'groups')).filter(n => !n.endsWith('.json')).sort()) {
  for (const file of readdirSync(join(suite, 'groups', group)).filter(n => n.endsWith('.json')).sort()) {
    const spec = JSON.parse(readFileSync(join(suite, 'groups', group, file), 'utf8'));
    const cases = Array.isArray(spec) ? spec : [spec];
    for (const [i, tc] of cases.entries()) {
      const name = `${group}/${file}#${i}`;
      if (tc['expr-file']) {
        tc.expr = readFileSync(join(suite, 'groups', group, tc['expr-file']), 'utf8');
      }
      try {
        let expr;
        try {
          expr = jsonata(tc.expr);
          if ('timelimit' in tc && 'depth' in tc) {
            timebox(expr, tc.timelimit, tc.depth);
          }
        } catch (e) {
          if (tc.code && e.code === tc.code) { passed++; continue; }
          throw e;
        }
        const data = 'data' in tc ? tc.data : tc.dataset ? datasets[tc.dataset] : undefined;
        let result, error;
        try { result = await expr.evaluate(data, tc.bindings); } catch (e) { error = e; }
        const ok = 'undefinedResult' in tc ? error === undefined && result === undefined
          : 'result' in tc ? error === undefined && isDeepStrictEqual(plain(result), tc.result)
          : 'error' in tc ? error !== undefined && Object.entries(tc.error).every(([k, v]) => isDeepStrictEqual(error[k], v))
          : 'code' in tc ? error !== undefined && error.code === tc.code
          : false;
        if (ok) { passed++; } else { failed.push(`${name}: ${tc.expr} -> ${error ? 'error ' + (error.code || error.message) : JSON.stringify(result)}`); }
      } catch (e) {
        failed.push(`${name}: ${tc.expr} -> threw ${e.code || e.message}`);
      }
    }
  }
}
function timebox(expr, timeout, maxDepth) {
  let depth = 0;
  const time = Date.now();
  expr.assign(Symbol.for('jsonata.__evaluate_entry'), (e, input, env) => {
    if (env.isParallelCall) { return; }
    depth++;
    if ((maxDepth > 0 && depth > maxDepth) || Date.now() - time > timeout) { throw { code: 'U1001' }; }
  });
  expr.assign(Symbol.for('jsonata.__evaluate_exit'), (e, input, env) => { if (!env.isParallelCall) { depth--; } });
}
console.log(failed.join('\n'));
console.log(`${passed} passed, ${failed.length} failed`);

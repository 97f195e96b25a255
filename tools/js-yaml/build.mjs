// Regenerates nodes/FlowFleet.Nodes.Core/Parser/js/js-yaml.js from the npm package `js-yaml` (MIT), the YAML library
// Node-RED 4.1.15's yaml and template nodes use, so FlowFleet parses, dumps and reports errors exactly as they do.
//   node tools/js-yaml/build.mjs [path/to/js-yaml/package]   (default: fetches it with `npm pack js-yaml@4.3.2`)
// The package's own browser build (dist/js-yaml.js, UMD: defines a global `jsyaml` where there is no module system) is
// taken unchanged, with a header naming its origin and licence.
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const version = '4.3.2';
let pkg = process.argv[2];
if (!pkg) {
  const dir = mkdtempSync(join(tmpdir(), 'js-yaml-'));
  execSync(`npm pack --silent js-yaml@${version}`, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  execSync(`tar xzf js-yaml-${version}.tgz`, { cwd: dir });
  pkg = join(dir, 'package');
}
const meta = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
if (meta.version !== version) {
  throw new Error(`expected js-yaml ${version}, found ${meta.version}`);
}
const src = readFileSync(join(pkg, 'dist', 'js-yaml.js'), 'utf8');
if (!src.includes('factory(global.jsyaml = {})')) {
  throw new Error('dist/js-yaml.js no longer defines a global jsyaml: check the bundle shape');
}
const licence = readFileSync(join(pkg, 'LICENSE'), 'utf8').trim();
const header = `/*! js-yaml ${version} (npm, dist/js-yaml.js), copied by tools/js-yaml/build.mjs. Do not edit; regenerate.
${licence.split('\n').map(l => (' * ' + l).trimEnd()).join('\n')}
 */
`;
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'nodes', 'FlowFleet.Nodes.Core', 'Parser', 'js', 'js-yaml.js');
writeFileSync(out, header + src);
console.log(`wrote ${out} (${(header + src).length} chars)`);

// Builds the files HFS loads from HFS_DATA_DIR (it ships no search parameters):
//   search-parameters-r5.json      Bundle (collection) of the R5 core SearchParameters
//   compartment-definitions-r5.json Bundle of the R5 core CompartmentDefinitions
//   uz-dhp-core-search-parameters.json  the IG's own SearchParameters, when it has any
// from the FHIR package cache that `cargo xtask fetch` fills.
//
// Usage: node searchparams.mjs <out dir>
// Env:   FHIR_PACKAGE_CACHE (default ~/.fhir/packages),
//        DHP_R5_CORE_PACKAGE (default hl7.fhir.r5.core#5.0.0),
//        DHP_IG_PACKAGE (default uz.dhp.core#0.3.0)
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node searchparams.mjs <out dir>');
  process.exit(2);
}
const cache = process.env.FHIR_PACKAGE_CACHE || join(homedir(), '.fhir', 'packages');
const core = process.env.DHP_R5_CORE_PACKAGE || 'hl7.fhir.r5.core#5.0.0';
const ig = process.env.DHP_IG_PACKAGE || 'uz.dhp.core#0.3.0';

function resources(pkg, prefix, required) {
  const dir = join(cache, pkg, 'package');
  if (!existsSync(dir)) {
    if (!required) return [];
    console.error(`[searchparams] ${dir} not found: run \`cargo xtask fetch\` first (or set FHIR_PACKAGE_CACHE)`);
    process.exit(1);
  }
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

function bundle(list) {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: list.map((resource) => ({ fullUrl: resource.url, resource })),
  };
}

function write(name, list) {
  writeFileSync(join(outDir, name), JSON.stringify(bundle(list)));
  console.error(`[searchparams] ${join(outDir, name)}: ${list.length} resources`);
}

mkdirSync(outDir, { recursive: true });
const coreParams = resources(core, 'SearchParameter-', true);
if (coreParams.length === 0) {
  console.error(`[searchparams] no SearchParameter in ${core}`);
  process.exit(1);
}
write('search-parameters-r5.json', coreParams);
// CompartmentDefinition-example is an illustration, not one of the five real compartments.
write('compartment-definitions-r5.json', resources(core, 'CompartmentDefinition-', true)
  .filter((c) => c.id !== 'example'));
const igParams = resources(ig, 'SearchParameter-', false);
if (igParams.length > 0) write('uz-dhp-core-search-parameters.json', igParams);

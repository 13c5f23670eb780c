// Writes deploy/crds/*.yaml from the schemas in src/api (a test fails when they drift apart).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles } from '../src/api/crd-files.ts';

const dir = fileURLToPath(new URL('../deploy/crds/', import.meta.url));
for (const [name, text] of renderCrdFiles()) {
  writeFileSync(dir + name, text);
  console.log(`wrote deploy/crds/${name}`);
}

// Run the dev kit from its TypeScript sources: tsx for the .ts files, and the
// `restore-controller-source` export condition, under which `restore-controller/<path>` resolves
// to the product's src/<path>.ts instead of its built dist/<path>.js (see the root package.json
// "exports"). Imported first by the dev kit's bins, by mocha (.mocharc.json) and by the benches.
import { register } from 'node:module';

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
// Registered after tsx, so it runs first and tsx (then Node) resolve with the condition added.
register('./source-condition.js', import.meta.url);

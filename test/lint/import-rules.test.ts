// The import rules (.dependency-cruiser.cjs) run by `npm run lint`: they pass on this tree and
// catch the mistakes they are there for, shown on a small planted tree.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function cruise(cwd: string, paths: string[]): Promise<Violation[]> {
  const r = await run(DEPCRUISE, [...paths, '--config', join(cwd, '.dependency-cruiser.cjs'), '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 }).catch(
    (e) => e as { stdout: string },
  );
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('import rules', function () {
  this.timeout(60_000);

  it('hold for the product, its tests, benches and the dev kit', async () => {
    const violations = await cruise(ROOT, ['src', 'test', 'bench', 'scripts', 'packages']);
    assert.deepEqual(
      violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
      [],
    );
  });

  it('refuse an upward import, a cycle, an import of tests or the dev kit, a relative path from the dev kit, and an unplaced folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-rules-'));
    try {
      copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }),
      );
      const files: Record<string, string> = {
        'src/api/types.ts': "import { plan } from '../plan/plan.ts';\nexport const t = plan;\n", // api is below plan
        'src/plan/plan.ts': 'export const plan = 1;\n',
        'src/status/a.ts': "import { b } from './b.ts';\nexport const a = b;\n",
        'src/status/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
        'src/daemon/d.ts':
          "import { helper } from '../../test/support/helper.ts';\nimport { sandbox } from '../../packages/devkit/src/sandbox.ts';\nexport const d = [helper, sandbox];\n",
        'src/widgets/w.ts': "import { plan } from '../plan/plan.ts';\nexport const w = plan;\n",
        'test/support/helper.ts': 'export const helper = 1;\n',
        'packages/devkit/src/sandbox.ts': 'export const sandbox = 1;\n',
        'packages/devkit/src/demo.ts': "import { plan } from '../../../src/plan/plan.ts';\nexport const demo = plan;\n", // not by package name
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const found = (await cruise(dir, ['src', 'test', 'packages'])).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
      assert.deepEqual(found, [
        'devkit-by-name: packages/devkit/src/demo.ts → src/plan/plan.ts',
        'layer-api: src/api/types.ts → src/plan/plan.ts',
        'no-circular: src/status/a.ts → src/status/b.ts',
        'src-known-folder: src/widgets/w.ts → src/plan/plan.ts',
        'src-not-test: src/daemon/d.ts → packages/devkit/src/sandbox.ts',
        'src-not-test: src/daemon/d.ts → test/support/helper.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

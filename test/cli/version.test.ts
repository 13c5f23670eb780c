// `--version` on every command and `restorectl version`, through the real program: the version is
// the package's, so a user can tell which build runs in a pod or in CI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMANDS } from '../../src/cli/commands/index.ts';
import { restorectl } from '../support/cli.ts';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const LINE = new RegExp(`^restorectl ${version.replace(/\./g, '\\.')} \\(node v\\d+\\.\\d+\\.\\d+, \\w+/\\w+\\)\\n$`);

describe('restorectl --version', function () {
  this.timeout(120_000);

  it('prints the package version for restorectl --version and for every command given --version, exit 0', async () => {
    const runs = [['--version'], ...COMMANDS.map((c) => [...c.name.split(' '), '--version'])];
    const results = await Promise.all(runs.map((args) => restorectl(args)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `${runs[i]!.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, LINE, runs[i]!.join(' '));
    }
  });

  it('restorectl version prints the same line, or JSON with --output json; --help says so', async () => {
    const [text, json, help, bad] = await Promise.all([
      restorectl(['version']),
      restorectl(['version', '--output', 'json']),
      restorectl(['version', '--help']),
      restorectl(['version', '--output', 'yaml']),
    ]);
    assert.match(text.stdout, LINE);
    assert.deepEqual(JSON.parse(json.stdout), { version, node: process.version, platform: `${process.platform}/${process.arch}` });
    assert.match(help.stdout, /--version/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--output must be text or json, not "yaml"/);
  });
});

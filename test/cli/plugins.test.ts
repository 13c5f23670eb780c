// `restorectl <name>` for a command it does not know runs the plugin `restorectl-<name>` (from
// node_modules/.bin, nearest first, then PATH), as real processes: arguments, output, exit status
// and signals pass through, and a missing plugin is a clear exit 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { findPlugin } from '../../src/cli/plugins.ts';
import { restorectl } from '../support/cli.ts';

function plugin(dir: string, name: string, script: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `restorectl-${name}`);
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('restorectl plugins', function () {
  this.timeout(60_000);
  let project: string;
  let elsewhere: string;
  const env = () => ({ PATH: [join(elsewhere, 'bin'), process.env['PATH']].join(delimiter) });

  before(() => {
    project = mkdtempSync(join(tmpdir(), 'plugins-project-'));
    elsewhere = mkdtempSync(join(tmpdir(), 'plugins-path-'));
    plugin(join(project, 'node_modules', '.bin'), 'hello', 'echo "hello $*"; echo "to stderr" >&2; exit 3');
    plugin(join(elsewhere, 'bin'), 'onpath', 'echo "on PATH: $1 (RESTORECTL_PLUGIN=$RESTORECTL_PLUGIN)"');
    plugin(join(elsewhere, 'bin'), 'hello', 'echo "the PATH one"');
    plugin(join(project, 'node_modules', '.bin'), 'waits', 'trap \'echo "got TERM"; exit 0\' TERM; echo ready; while :; do sleep 0.1; done');
    mkdirSync(join(project, 'a', 'b'), { recursive: true });
  });
  after(() => {
    rmSync(project, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('runs the nearest node_modules/.bin plugin with the arguments, its output and its exit status', async () => {
    const r = await restorectl(['hello', 'a', '--flag'], { cwd: join(project, 'a', 'b'), env: env() });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'hello a --flag\n', 'node_modules/.bin wins over PATH');
    assert.equal(r.stderr, 'to stderr\n');
  });

  it('finds a plugin on PATH', async () => {
    const r = await restorectl(['onpath', 'x'], { cwd: elsewhere, env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'on PATH: x (RESTORECTL_PLUGIN=1)\n');
  });

  it('says which plugin it looked for when there is none (exit 2)', async () => {
    const r = await restorectl(['nosuch', 'x'], { cwd: elsewhere, env: env() });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^restorectl: unknown command "nosuch": not a restorectl command, and no plugin restorectl-nosuch in node_modules\/\.bin or on PATH/,
    );
    assert.equal(findPlugin('nosuch', { cwd: elsewhere, path: join(elsewhere, 'bin') }), undefined);
    assert.equal(findPlugin('../bin/sh', { cwd: elsewhere, path: '/' }), undefined, 'a name is one word');
  });

  it("lists the plugins it finds in --help, the dev kit's among them", async () => {
    const r = await restorectl(['--help'], { cwd: project, env: env() });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Plugins .*\n(.*\n)* {2}hello +.*node_modules\/\.bin\/restorectl-hello\n/);
    assert.match(r.stdout, /\n {2}onpath +/);
    assert.match(r.stdout, /\n {2}sandbox +.*restorectl-sandbox\n/);
    assert.match(r.stdout, /\n {2}demo +.*restorectl-demo\n/);
  });

  it('passes SIGTERM on to the plugin and returns its status', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/restorectl.js'), 'waits'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const ready = new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
    await Promise.race([ready, closed.then((code) => assert.fail(`restorectl ended (${code}) before the plugin was ready: ${out}${err}`))]);
    child.kill('SIGTERM');
    const code = await closed;
    assert.equal(code, 0, out + err);
    assert.equal(out, 'ready\ngot TERM\n');
  });

  it("in-process (main with an Io), the plugin's output goes to the Io", async () => {
    let stdout = '';
    let stderr = '';
    const code = await main(['hello', 'io'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, { cwd: project, path: '' });
    assert.equal(code, 3);
    assert.equal(stdout, 'hello io\n');
    assert.equal(stderr, 'to stderr\n');
  });
});

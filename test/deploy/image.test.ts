// The Dockerfile cannot be built here (no container engine), so this pins what it relies on: the
// build step emits a dist/ that bin/restorectl.js runs without the sources, and the build context
// (.dockerignore) holds every file the Dockerfile copies.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DATABASE_ADDONS, databaseCommands } from '../../src/databases/index.ts';
import { REPO_ROOT } from '../support/sandbox.ts';

const run = promisify(execFile);
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

describe('the image (Dockerfile)', function () {
  this.timeout(300_000);

  it('runs restorectl as a non-root user, from Node 22 with restic from Debian', () => {
    const from = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(from.length >= 1 && from.every((f) => f!.startsWith('node:22-bookworm-slim')), from.join(', '));
    assert.match(dockerfile, /apt-get install -y --no-install-recommends restic ca-certificates/);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER 65532:65532$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["restorectl"\]$/m);
  });

  it('carries every program the built-in database restores run (src/databases), from Debian packages', () => {
    const install = /apt-get install -y --no-install-recommends ([^\\\n]+)/.exec(dockerfile)![1]!.trim().split(/\s+/);
    // Which Debian bookworm package provides each client (dpkg -S).
    const PACKAGE: Record<string, string> = {
      psql: 'postgresql-client',
      pg_isready: 'postgresql-client',
      mysql: 'mariadb-client',
      mysqladmin: 'mariadb-client',
      'redis-cli': 'redis-tools',
    };
    const conn = { host: 'db', port: 1, username: 'u', password: 'p', caCert: 'CA', appBinding: 'demo/db' };
    for (const addon of Object.values(DATABASE_ADDONS)) {
      const cmds = databaseCommands(addon, conn, { args: [], waitTimeoutSeconds: 1 }, '/tmp');
      for (const c of [cmds.ready, cmds.restore, ...(cmds.after ? [cmds.after] : [])]) {
        const program = c.argv[0]!;
        assert.ok(PACKAGE[program], `${addon.kind} runs ${program}: which package provides it?`);
        assert.ok(install.includes(PACKAGE[program]!), `${program} (${PACKAGE[program]}) is not installed: ${install.join(' ')}`);
      }
    }
  });

  it('copies only what .dockerignore lets into the build context', () => {
    const allowed = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    assert.ok(sources.length >= 4);
    for (const s of sources) {
      assert.ok(
        allowed.some((a) => s === a || s.startsWith(`${a}/`)),
        `${s} is in the build context`,
      );
      assert.ok(existsSync(join(REPO_ROOT, s)), `${s} exists`);
    }
  });

  it('`npm run build` emits a dist/ that bin/restorectl.js runs with no sources beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-test-'));
    try {
      // The build of the Dockerfile's first stage, into a folder of its own (dist/ in the
      // checkout would make every other test run stale compiled code).
      await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')], { cwd: REPO_ROOT });
      cpSync(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
      cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
      // As on the image's PATH: a symlink named restorectl.
      symlinkSync(join(dir, 'bin', 'restorectl.js'), join(dir, 'restorectl'));
      const help = await run(join(dir, 'restorectl'), ['--help'], { cwd: dir });
      assert.match(help.stdout, /agent restore/);
      const agent = await run(join(dir, 'restorectl'), ['agent', 'restore', '--help'], { cwd: dir });
      assert.match(agent.stdout, /--session NAMESPACE\/NAME/);
      assert.ok(!existsSync(join(dir, 'src')), 'no sources: what ran is dist/');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

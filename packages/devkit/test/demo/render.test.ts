// What the demo prints, from facts alone (render.ts is pure).
import assert from 'node:assert/strict';
import type { RestoreSession } from 'restore-controller/api/restoresession';
import { commitMessage } from 'restore-controller/status/render';
import { allSucceeded, renderOutcome, renderProgress, renderProgressLine, renderStatusLog, renderVolumes } from '../../src/demo/render.ts';

const session = (name: string, phase: string | undefined, hosts: string[] = [], totalHosts?: number): RestoreSession =>
  ({
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name, namespace: 'demo' },
    spec: {},
    ...(phase
      ? {
          status: {
            phase,
            ...(totalHosts !== undefined ? { totalHosts } : {}),
            stats: hosts.map((h) => ({ hostname: h, phase: h.endsWith('!') ? 'Failed' : h.endsWith('~') ? 'Running' : 'Succeeded' })),
          },
        }
      : {}),
  }) as unknown as RestoreSession;

describe('demo output', () => {
  it("shows each session's phase and finished hosts out of its total", () => {
    assert.equal(
      renderProgress([session('sts-restore', 'Running', ['a', 'b!', 'c~'], 5), session('new-one', undefined), session('dep', 'Succeeded', ['x'])]),
      'sts-restore Running 2/5 | new-one New 0/? | dep Succeeded 1/?',
    );
    assert.equal(renderProgressLine(new Date('2026-11-29T03:02:46.123Z'), 'x Running 0/1'), '  03:02:46  x Running 0/1');
  });

  it("lists each volume's files, or (empty)", () => {
    assert.equal(
      renderVolumes([
        { claim: 'data-0', files: ['./a.json', './b.json'] },
        { claim: 'empty', files: [] },
      ]),
      `  ${'data-0'.padEnd(36)} ./a.json  ./b.json\n  ${'empty'.padEnd(36)} (empty)`,
    );
  });

  it("lists the status branch's commits, and each change of a commit that records several sessions", () => {
    const change = (name: string, from: string, to: string, hosts: string) => ({ namespace: 'demo', name, from, to, hosts });
    const several = commitMessage('demo', { url: 'http://git/restores.git', branch: 'main', commit: '15f90b98e12e' }, [
      change('deployment-restore', 'Running', 'Succeeded', '1/1'),
      change('pvc-restore', 'Running', 'Succeeded', '3/3'),
      change('sts-restore', 'Running', 'Succeeded', '5/5'),
    ]);
    const one = commitMessage('demo', { url: 'http://git/restores.git', branch: 'main', commit: 'f6dec64aaaaa' }, [
      change('audit-copy', 'Accepted', 'Succeeded', '1/1'),
    ]);
    // As `git log --format=%h%x00%s%x00%b%x1e` prints them, newest first.
    const record = (hash: string, message: string) => {
      const [subject, ...body] = message.split('\n');
      return `${hash}\0${subject}\0${body.join('\n').replace(/^\n/, '')}\x1e\n`;
    };
    assert.equal(
      renderStatusLog(record('81d9dc0', one) + record('09a5d68', several)),
      [
        '  81d9dc0 status(demo): demo/audit-copy Accepted→Succeeded (1/1 hosts) [main@f6dec64]',
        '  09a5d68 status(demo): 3 sessions: demo/deployment-restore Running→Succeeded (1/1 hosts), demo/pvc-restore Running→Succeeded (3/3 hosts), +1 more [main@15f90b9]',
        '      - demo/deployment-restore Running→Succeeded (1/1 hosts)',
        '      - demo/pvc-restore Running→Succeeded (3/3 hosts)',
        '      - demo/sts-restore Running→Succeeded (5/5 hosts)',
        '',
      ].join('\n'),
    );
  });

  it('says every restore succeeded only when there are some and all did', () => {
    assert.equal(renderOutcome([session('a', 'Succeeded'), session('b', 'Succeeded')]), 'Every restore Succeeded.');
    assert.equal(renderOutcome([session('a', 'Succeeded'), session('b', 'Failed')]), 'Not every restore succeeded: a=Succeeded, b=Failed');
    assert.equal(allSucceeded([]), false);
  });
});

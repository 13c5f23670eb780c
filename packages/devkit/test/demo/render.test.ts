// What the demo prints, from facts alone (render.ts is pure).
import assert from 'node:assert/strict';
import type { RestoreSession } from 'restore-controller/api/restoresession';
import { allSucceeded, renderOutcome, renderProgress, renderProgressLine, renderVolumes } from '../../src/demo/render.ts';

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

  it('says every restore succeeded only when there are some and all did', () => {
    assert.equal(renderOutcome([session('a', 'Succeeded'), session('b', 'Succeeded')]), 'Every restore Succeeded.');
    assert.equal(renderOutcome([session('a', 'Succeeded'), session('b', 'Failed')]), 'Not every restore succeeded: a=Succeeded, b=Failed');
    assert.equal(allSucceeded([]), false);
  });
});

import assert from 'node:assert/strict';
import type { LedgerView } from '../../src/plan/index.ts';
import { redact as redactText } from '../../src/common/index.ts';
import {
  attentionOf,
  buildLedger,
  commitMessage,
  executionsById,
  hostsText,
  parseLedgerFile,
  renderSessionFile,
  renderStatusMd,
  rowOf,
} from '../../src/status/index.ts';
import type { ManagedSession } from '../../src/status/index.ts';
import { SOURCE_COMMIT, session, snapshot } from './fixtures.ts';

describe('status rendering', function () {
  it('summarises one change the way DESIGN §4 shows, with trailers', () => {
    const msg = commitMessage('prod', snapshot('prod', []).source, [
      { namespace: 'demo', name: 'sts-restore', from: 'Running', to: 'Succeeded', hosts: '5/5' },
    ]);
    assert.equal(msg, `status(prod): demo/sts-restore Running→Succeeded (5/5 hosts) [main@1a2b3c4]\n\nSource-Commit: ${SOURCE_COMMIT}\nCluster: prod\n`);
  });

  it('lists every change in the body when there are several, transitions first', () => {
    const msg = commitMessage('prod', snapshot('prod', []).source, [
      { namespace: 'a', name: 'x', from: 'Running', to: 'Running', hosts: '2/5' },
      { namespace: 'b', name: 'y', from: undefined, to: 'Accepted', hosts: '0/?' },
      { namespace: 'c', name: 'z', from: 'Running', to: 'Failed', hosts: '5/5' },
    ]);
    const lines = msg.split('\n');
    assert.equal(lines[0], 'status(prod): 3 sessions: b/y new→Accepted, c/z Running→Failed (5/5 hosts), +1 more [main@1a2b3c4]');
    assert.deepEqual(lines.slice(2, 5), ['- a/x Running (2/5 hosts)', '- b/y new→Accepted', '- c/z Running→Failed (5/5 hosts)']);
    assert.deepEqual(lines.slice(-3), [`Source-Commit: ${SOURCE_COMMIT}`, 'Cluster: prod', '']);
  });

  it('renders the same files for the same input (no clock inside)', () => {
    const s = session('sts', 'Running', { done: 3 });
    assert.equal(renderSessionFile('prod', s), renderSessionFile('prod', structuredClone(s)));
    const md = renderStatusMd('prod', snapshot('prod', []).source, [rowOf(s)]);
    assert.equal(md, renderStatusMd('prod', snapshot('prod', []).source, [rowOf(structuredClone(s))]));
    assert.doesNotMatch(md, /1a2b3c4d/, 'STATUS.md does not change with every source commit');
  });

  it('a failed host is not done: 0/1, 1 failed, and STATUS.md says which host, why and what to fix, first', () => {
    const failed: ManagedSession = {
      ...session('wrong-password', 'Failed', { total: 1 }),
      status: { phase: 'Failed', totalHosts: 1, stats: [{ hostname: 'host-0', phase: 'Failed', error: 'restic: Fatal: wrong password or no key found' }] },
      spec: { repository: { name: 'wrong-repo' } } as ManagedSession['spec'],
    };
    assert.equal(hostsText(failed), '0/1, 1 failed');
    const a = attentionOf(failed)!;
    assert.equal(a.problem, '0/1 succeeded, 1 failed: host-0: restic: Fatal: wrong password or no key found');
    assert.match(a.todo, /^check the Secret that Repository demo\/wrong-repo names in spec\.backend\.storageSecretName/);
    const blocked: ManagedSession = {
      ...session('bad', undefined),
      executions: [],
      decision: { action: 'blocked', reason: 'not applied: the manifest has 1 error (bad.yaml:3:1: error: x)' },
    };
    const fine = session('sts', 'Succeeded', { done: 5, total: 5 });
    assert.equal(attentionOf(fine), undefined);
    const md = renderStatusMd('prod', snapshot('prod', []).source, [rowOf(failed), rowOf(blocked), rowOf(fine)]);
    assert.ok(md.indexOf('## Needs attention (2)') < md.indexOf('| Session |'), md);
    assert.match(md, /^- ❌ \*\*demo\/wrong-password\*\* Failed 0\/1 succeeded, 1 failed: host-0: restic: Fatal: wrong password/m);
    assert.match(md, /^ {2}- host host-0: restic: Fatal: wrong password or no key found$/m);
    assert.match(md, /^- 🚫 \*\*demo\/bad\*\* Blocked: not applied: the manifest has 1 error \(bad\.yaml:3:1: error: x\)$/m);
    assert.match(md, /^\| demo\/wrong-password \| ❌ Failed \| 0\/1, 1 failed \|/m);
    assert.match(md, /^\| demo\/bad \| 🚫 Blocked \|/m);
    assert.match(
      commitMessage('prod', snapshot('prod', []).source, [
        { namespace: 'demo', name: 'wrong-password', from: 'Running', to: 'Failed', hosts: '0/1, 1 failed' },
      ]),
      /^status\(prod\): demo\/wrong-password Running→Failed \(0\/1 hosts, 1 failed\)/,
    );
    // The session file carries the decision, and the ledger reads it back (for `restorectl status`).
    const back = parseLedgerFile('clusters/prod/demo/bad.yaml', renderSessionFile('prod', blocked)).session!;
    assert.deepEqual(back.decision, blocked.decision);
    assert.equal(attentionOf(back)?.phase, 'Blocked');
  });

  it('redacts credentials in free text', () => {
    assert.equal(redactText('GET https://bob:pa55@host/x failed'), 'GET https://<redacted>@host/x failed');
    assert.equal(redactText('Authorization: Bearer abcdefghijkl'), 'Authorization: <redacted>');
    assert.equal(redactText('password=hunter2 and AWS_SECRET_ACCESS_KEY: zzz'), 'password=<redacted> and AWS_SECRET_ACCESS_KEY: <redacted>');
    assert.equal(redactText('plain message with 3/5 hosts'), 'plain message with 3/5 hosts');
  });
});

describe('ledger read', function () {
  it('reads executions back by content id', () => {
    const a = session('a', 'Succeeded');
    const b = session('b', 'Running', { namespace: 'data', done: 1 });
    const ledger = buildLedger(
      [
        ['clusters/prod/demo/a.yaml', renderSessionFile('prod', a)],
        ['clusters/prod/data/b.yaml', renderSessionFile('prod', b)],
        ['clusters/prod/STATUS.md', '# not a session'],
        ['clusters/staging/demo/a.yaml', renderSessionFile('staging', session('a', 'Failed', { contentId: 'other' }))],
      ],
      { cluster: 'prod' },
    );
    assert.deepEqual(ledger.diagnostics, []);
    assert.deepEqual(
      ledger.sessions.map((s) => `${s.namespace}/${s.name}`),
      ['data/b', 'demo/a'],
    );
    assert.equal(ledger.executions.get('cid-a')?.execution.phase, 'Succeeded');
    assert.equal(ledger.executions.get('cid-a')?.execution.finishedAt, '2026-11-29T03:02:46Z');
    assert.equal(ledger.executions.get('cid-b')?.session.file, 'clusters/prod/data/b.yaml');
    assert.equal(ledger.executions.has('other'), false);
    // What the Planner takes as PlanInput.ledger.
    const view: LedgerView = executionsById(ledger);
    assert.equal(view.get('cid-a')?.phase, 'Succeeded');
  });

  it('tolerates older and hand-edited files: a bad file is a diagnostic, not a crash', () => {
    const ledger = buildLedger([
      // An early writer: no executions list, only the content id and the status.
      ['clusters/prod/demo/old.yaml', 'namespace: demo\nname: old\ncontentId: abc\nstatus:\n  phase: Succeeded\n'],
      ['clusters/prod/demo/broken.yaml', 'executions: [\n'],
      ['clusters/prod/demo/list.yaml', '- 1\n- 2\n'],
      ['clusters/prod/demo/odd.yaml', 'formatVersion: 7\ncontentId: x\nexecutions:\n  - contentId: x\n    phase: Exploded\n  - phase: Running\n  - nope\n'],
    ]);
    assert.equal(ledger.executions.get('abc')?.execution.phase, 'Succeeded');
    assert.equal(ledger.executions.get('x')?.execution.phase, 'Unknown', 'an unknown phase counts as final');
    const messages = ledger.diagnostics.map((d) => `${d.file.split('/').pop()}:${d.line}: ${d.severity}: ${d.message}`);
    assert.equal(messages.length, 6, messages.join('\n'));
    assert.match(messages.find((m) => m.startsWith('broken'))!, /^broken\.yaml:2: error: cannot parse YAML/);
    assert.match(messages.find((m) => m.startsWith('list'))!, /expected a mapping/);
    assert.ok(messages.some((m) => /newer restore-controller \(formatVersion 7\)/.test(m)));
    assert.ok(messages.some((m) => /phase "Exploded"/.test(m)));
    assert.ok(messages.some((m) => /executions\[1\] has no contentId/.test(m)));
    assert.ok(messages.some((m) => /executions\[2\] is not a mapping/.test(m)));
  });

  it('names a file whose content does not match its path', () => {
    const { session: s, diagnostics } = parseLedgerFile('clusters/prod/demo/a.yaml', 'namespace: other\nname: b\n');
    assert.equal(s?.name, 'a');
    assert.match(diagnostics[0]!.message, /names other\/b but sits at the path of demo\/a/);
  });
});

describe('status YAML emitter', function () {
  it('reads back as the same data through the yaml parser, tricky strings included', async () => {
    const { parse } = await import('yaml');
    const { toYaml } = await import('../../src/status/yaml-emit.ts');
    const doc = {
      plain: 'host-0',
      empty: '',
      spaces: ' lead and trail ',
      colon: 'a: b',
      endColon: 'x:',
      hash: 'a #b',
      dash: '- x',
      quote: '"q"',
      bools: ['true', 'False', 'null', '~', 'yes', 'off'],
      numbers: ['123', '1e5', '0x1F', '.inf', '-1.5', '1234567e10'],
      sha: '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d',
      time: '2026-11-29T03:00:00Z',
      multi: 'line one\nline two\ttab',
      unicode: 'ünïcødé ✅',
      star: '*alias',
      amp: '&anchor',
      bang: '!tag',
      pct: '%x',
      at: '@x',
      backtick: '`x`',
      braces: '{a}',
      brackets: '[a]',
      pipe: '| x',
      gt: '> x',
      comma: 'a, b',
      n: 5,
      f: 1.5,
      t: true,
      nil: null,
      emptyList: [],
      emptyMap: {},
      nested: { list: [{ a: 1, b: [1, 2] }, 'x', [3, 4], { c: { d: 'e' } }] },
    };
    assert.deepEqual(parse(toYaml(doc)), doc);
  });
});

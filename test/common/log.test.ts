import assert from 'node:assert/strict';
import { jsonLogger, textLogger } from '../../src/common/log.ts';
import { RestoreError, isRestoreError } from '../../src/common/errors.ts';
import { Redactor } from '../../src/common/redact.ts';

class DemoError extends RestoreError<'DemoFailed', { file: string }> {}

describe('logger', () => {
  const now = () => new Date('2026-12-01T00:00:00Z');

  it('writes one JSON object per line with the child fields and the level it was called with', () => {
    const lines: string[] = [];
    const log = jsonLogger((l) => lines.push(l), { now, fields: { component: 'controller' } });
    log.child({ namespace: 'demo', name: 'sts-restore' }).warn('agent cannot start', { pod: 'p-0' });
    log.debug('not written at info');
    assert.equal(lines.length, 1);
    assert.deepEqual(JSON.parse(lines[0]!), {
      time: '2026-12-01T00:00:00.000Z',
      level: 'warn',
      component: 'controller',
      namespace: 'demo',
      name: 'sts-restore',
      msg: 'agent cannot start',
      pod: 'p-0',
    });
  });

  it('redacts known secrets and credential shapes after encoding', () => {
    const lines: string[] = [];
    const secret = 'pa"ss\\word';
    const log = jsonLogger((l) => lines.push(l), { redactor: new Redactor([secret]) });
    log.error('push failed', { url: 'https://u:tok@git.example/r.git', detail: `sent ${secret}` });
    assert.ok(!lines[0]!.includes('tok@') && !lines[0]!.includes(JSON.stringify(secret).slice(1, -1)), lines[0]);
    assert.doesNotThrow(() => JSON.parse(lines[0]!));
  });

  it('honours the level and writes errors as message and code', () => {
    const lines: string[] = [];
    const log = textLogger((l) => lines.push(l), { level: 'warn' });
    log.info('hidden');
    log.warn('cycle failed', { err: new DemoError('DemoFailed', 'no file', { file: 'a.yaml' }) });
    assert.deepEqual(lines, ['warn: cycle failed err={"message":"no file","code":"DemoFailed"}\n']);
  });
});

describe('error base', () => {
  it('carries a stable code, typed data and the subclass name', () => {
    const e = new DemoError('DemoFailed', 'a.yaml: no such file', { file: 'a.yaml' }, { cause: new Error('ENOENT') });
    assert.ok(isRestoreError(e, 'DemoFailed'));
    assert.equal(isRestoreError(e, 'Other'), false);
    assert.equal(e.name, 'DemoError');
    assert.equal(e.data.file, 'a.yaml');
    assert.ok(e instanceof Error);
  });
});

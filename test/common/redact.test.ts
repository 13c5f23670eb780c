import assert from 'node:assert/strict';
import { MASK, Redactor, redact, stripUrlCredentials } from '../../src/common/redact.ts';

// The restic password, a git token and a multi-line key, as they reach text in each shape.
const PASSWORD = 'hunter2:p@ss/word "quoted"';
const TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ';
const KEY = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----';

describe('redaction', () => {
  const r = new Redactor([PASSWORD, TOKEN, KEY]);
  const cases: [string, string][] = [
    ['raw', `restic failed: wrong password ${PASSWORD}`],
    ['URL userinfo', `fatal: https://user:${encodeURIComponent(PASSWORD)}@git.example/x.git unreachable`],
    ['URL-encoded', `GET /?pw=${encodeURIComponent(PASSWORD)}`],
    ['base64', `Authorization header was ${Buffer.from(PASSWORD).toString('base64')}`],
    ['JSON-escaped', JSON.stringify({ msg: `password is ${PASSWORD}` })],
    ['a line of a multi-line secret', 'key line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC seen'],
    ['token shape, unknown to the redactor', `new Redactor() sees ${TOKEN}`],
  ];
  for (const [shape, text] of cases) {
    it(`masks a secret given ${shape}`, () => {
      const out = shape.startsWith('token shape') ? new Redactor().text(text) : r.text(text);
      assert.ok(out.includes(MASK), out);
      for (const needle of ['hunter2', 'p%40ss', Buffer.from(PASSWORD).toString('base64'), 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', TOKEN]) {
        assert.ok(!out.includes(needle), `${shape}: ${needle} left in ${out}`);
      }
    });
  }

  it('masks credential shapes whatever their value', () => {
    for (const text of ['Authorization: Bearer abcdefghijklmnop', 'password=s3cr3t-value', 'AWS key AKIAABCDEFGHIJKLMNOP', 'https://bob:pw@host/repo']) {
      const out = redact(text);
      assert.ok(out.includes(MASK), out);
      assert.ok(!/abcdefghijklmnop|s3cr3t-value|AKIAABCDEFGHIJKLMNOP|bob:pw/.test(out), out);
    }
  });

  it('leaves text without secrets unchanged', () => {
    const text = 'restored 12 files (3.4 MiB) into /data at 2026-12-01T09:00:00Z';
    assert.equal(r.text(text), text);
  });

  it('does not mask values too short to be told from words', () => {
    assert.equal(redact('a pw of "ab"', ['ab']), 'a pw of "ab"');
  });

  it('masks env values of runtimeSettings and strings inside data', () => {
    const out = r.deep({ env: [{ name: 'DB_PASSWORD', value: 'plain-value' }], message: `x ${TOKEN}`, n: 3 });
    assert.deepEqual(out, { env: [{ name: 'DB_PASSWORD', value: MASK }], message: `x ${MASK}`, n: 3 });
  });

  it('strips credentials from a URL for display', () => {
    assert.equal(stripUrlCredentials(`https://x-access-token:${TOKEN}@github.com/org/repo.git`), 'https://github.com/org/repo.git');
    assert.equal(stripUrlCredentials('ssh://git@github.com/org/repo.git'), 'ssh://github.com/org/repo.git');
  });
});

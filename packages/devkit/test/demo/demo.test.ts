import assert from 'node:assert/strict';
import { restorectl } from '../../../../test/support/cli.ts';
import { ENGINE, skipUnlessEngine } from '../../../../test/support/sandbox.ts';

// On both engines: `npm start` (embedded) and `npm start -- --engine kube-apiserver` (npm run test:kube).
describe(`restorectl demo (what \`npm start\` runs), on the ${ENGINE} engine`, function () {
  this.timeout(400_000);
  before(function () {
    skipUnlessEngine(this);
  });

  it('runs every example restore to Succeeded and shows the files and the status branch', async () => {
    const r = await restorectl(['demo', '--exit', '--engine', ENGINE]);
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
    assert.match(r.stdout, /\+ create RestoreSession demo\/sts-restore/);
    assert.match(r.stdout, /source-data-recovered-statefulset-3\s+\.\/my-sts-1\.json {2}\.\/tmp\.json/);
    assert.match(r.stdout, /status\(demo\): demo\/sts-restore Running→Succeeded \(5\/5 hosts\)/);
    // The second commit, picked up through the signed push webhook, restores too.
    assert.match(r.stdout, /webhook answered 202: cycle triggered by the push to refs\/heads\/main/);
    assert.match(r.stdout, /RestoreSession demo\/audit-copy created \d+ ms after the webhook/);
    assert.match(r.stdout, /audit-copy-0\s+\.\/host-0\.json {2}\.\/tmp\.json\n/);
    assert.match(r.stdout, /status\(demo\): demo\/audit-copy .*Succeeded \(1\/1 hosts\)/);
    assert.match(r.stdout, /Every restore Succeeded\./);
    assert.doesNotMatch(r.stdout + r.stderr, /demo-only-password|demo-only-webhook-secret/);
  });
});

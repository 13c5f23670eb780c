// What the controller creates for a session is owned by it through its uid (issue 13): an owner
// without one is refused by the real API server (422), and before, a session without a uid gave
// `uid: ''` and the object was sent anyway. Now no object is built with such an owner.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Repository, RestoreSession } from '../../src/api/index.ts';
import { interimClaim, sessionOwner } from '../../src/controller/claims.ts';
import { ControllerError } from '../../src/controller/errors.ts';
import { restoreJob } from '../../src/controller/job.ts';

const example = (name: string) => parse(readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8'));
const repo = example('repository.yaml') as Repository;

function session(uid: string | undefined): RestoreSession {
  const s = example('pvc-restore.yaml') as RestoreSession;
  s.spec.interimVolumeTemplate = { metadata: { name: 'scratch' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  if (uid !== undefined) s.metadata.uid = uid;
  return s;
}

const withoutUid = (e: unknown) =>
  e instanceof ControllerError &&
  e.code === 'SessionWithoutUid' &&
  e.data.session === 'demo/pvc-restore' &&
  /RestoreSession demo\/pvc-restore has no metadata\.uid/.test(e.message);

describe('controller: owners of what it creates for a session', () => {
  it("are the session's uid", () => {
    const s = session('0b5a7c1e-uid');
    assert.deepEqual(sessionOwner(s), {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      name: 'pvc-restore',
      uid: '0b5a7c1e-uid',
      controller: true,
      blockOwnerDeletion: true,
    });
    const job = restoreJob({ session: s, repository: repo, agent: { image: 'restorectl:test' }, index: 0 });
    assert.deepEqual(
      job.metadata.ownerReferences?.map((o) => o.uid),
      ['0b5a7c1e-uid'],
    );
    assert.deepEqual(
      interimClaim(s)!.metadata.ownerReferences?.map((o) => o.uid),
      ['0b5a7c1e-uid'],
    );
  });

  it('are never an empty uid: a session without one (not read from the API) is a SessionWithoutUid error naming it', () => {
    for (const uid of [undefined, '']) {
      const s = session(uid);
      assert.throws(() => sessionOwner(s), withoutUid, `uid ${JSON.stringify(uid)}`);
      assert.throws(() => restoreJob({ session: s, repository: repo, agent: { image: 'restorectl:test' }, index: 0 }), withoutUid);
      assert.throws(() => interimClaim(s), withoutUid);
    }
  });
});

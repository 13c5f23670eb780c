// `restorectl validate` on task restores: Stash's docs' database session passes, a task nothing
// would run is an error at its line, a Task committed to git is read from the cluster, not applied.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { restorectl } from '../support/cli.ts';
import { positionOf } from '../support/text.ts';

const FIX = fileURLToPath(new URL('./fixtures/tasks/', import.meta.url));
const CATALOG = fileURLToPath(new URL('../api/fixtures/stash-catalog/', import.meta.url));

describe('restorectl validate: task restores', () => {
  it("accepts the PostgreSQL restore of Stash's docs (a built-in task) without a cluster state", async () => {
    const r = await restorectl(['validate', `${FIX}postgres-restore.yaml`, `${FIX}repository.yaml`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /error/);
  });

  it("refuses a task that is neither in the cluster state nor built in, at the task name, listing the cluster's Tasks", async () => {
    const r = await restorectl(['validate', `${FIX}unknown-task.yaml`, `${FIX}repository.yaml`, '--cluster-state', CATALOG]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const { line, column } = positionOf(`${FIX}unknown-task.yaml`, 'my-own-restore');
    assert.match(
      r.stdout,
      new RegExp(
        `unknown-task\\.yaml:${line}:${column}: error: Task "my-own-restore" is neither in the cluster state nor one of Stash's addon tasks .*Tasks in the cluster state: elasticsearch-restore-7\\.14\\.0, mariadb-restore-10\\.6\\.23, .*pvc-restore, redis-restore-6\\.2\\.5 \\(spec\\.task\\.name\\)`,
      ),
    );
  });

  it('skips a Task committed to git with a warning that says it is read from the cluster', async () => {
    const r = await restorectl(['validate', `${FIX}catalog-in-git.yaml`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /warning: Task postgres-restore-11\.9 skipped: restore-controller applies only RestoreSession and Repository objects; a Task is read from the cluster \(install it there, e\.g\. with Stash's catalog or KubeDB, and list it in --cluster-state to plan against it\)/,
    );
  });
});

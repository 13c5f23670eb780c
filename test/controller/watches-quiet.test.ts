// A quiet controller: a session waiting for something the controller watches costs no API
// request while it waits (its reads come from the watch caches), is woken by the watch when that
// thing appears (no poll), and a Secret is known to exist without its data ever being asked for.
// Requests are counted by the sandbox; no timing is asserted.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { Controller } from '../../src/controller/index.ts';
import { Sandbox } from '@restore-controller/devkit/sandbox';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const HOUR = 3_600_000;
const AGENT = Sandbox.DEFAULT_AGENT_IMAGE;

const repository = (ns: string) => ({
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Repository',
  metadata: { name: 'repo', namespace: ns },
  spec: { backend: { local: { mountPath: '/safe/data', hostPath: { path: '/nonexistent/restic-repo' } }, storageSecretName: 'repo-secret' } },
});
const deployment = (ns: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'app', namespace: ns },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: 'app' } },
    template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
  },
});
const session = (ns: string) => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 'restore', namespace: ns },
  spec: {
    repository: { name: 'repo' },
    target: { alias: 'app', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, rules: [{ paths: ['/data'] }] },
  },
});

interface Seen {
  line: string;
  accept: string;
}

describe('a quiet controller', function () {
  this.timeout(90_000);
  let t: TestSandbox;
  let core: k8s.CoreV1Api;
  let controller: Controller | undefined;
  let seen: Seen[] | undefined;
  // Read from the sandbox's store, not over HTTP: the test's own reads stay off the wire it counts.
  const get = async (ns: string) =>
    t.sandbox.core.tryGet(t.sandbox.core.mustResource(RESTORE_SESSIONS.group, RESTORE_SESSIONS.plural), ns, 'restore') as unknown as RestoreSession;
  const condition = (s: RestoreSession, type: string) => s.status?.conditions?.find((c) => c.type === type);

  async function apply(...objs: object[]): Promise<void> {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], objs.map((o) => stringify(o)).join('---\n'));
    assert.equal(r.code, 0, r.stderr);
  }

  /** A namespace whose session waits Pending for its Secret, under a controller started with `opts`. */
  async function waitingForSecret(ns: string, opts: { waitMs: number }): Promise<Controller> {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, repository(ns), deployment(ns), session(ns));
    const c = new Controller(t.kc, { agent: { image: AGENT }, resyncMs: HOUR, pollMs: HOUR, ...opts });
    await c.start();
    await eventually(async () => condition(await get(ns), 'BackendSecretFound')?.status === 'False', 30_000);
    await c.idle();
    return c;
  }

  const tap = () => {
    seen = [];
    t.sandbox.http.onRequest = (line, req) => {
      seen?.push({ line, accept: String(req.headers.accept ?? '') });
    };
  };
  const untap = (): Seen[] => {
    t.sandbox.http.onRequest = undefined;
    const out = seen ?? [];
    seen = undefined;
    return out;
  };

  before(async () => {
    t = await startSandbox({ simulate: false });
    core = t.kc.makeApiClient(k8s.CoreV1Api);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
  });
  afterEach(async () => {
    untap();
    await controller?.stop();
    controller = undefined;
  });
  after(async () => t?.stop());

  it('a session waiting for its Secret is looked at again and again at no API request', async () => {
    // A short wait: the session is reconciled over and over while the test watches the wire.
    controller = await waitingForSecret('quiet-wait', { waitMs: 100 });
    const before = controller.stats.reconciles;
    tap();
    await eventually(() => controller!.stats.reconciles >= before + 4, 30_000);
    await controller.idle();
    const requests = untap();
    assert.ok(controller.stats.reconciles >= before + 4, 'the session was reconciled again');
    assert.deepEqual(
      requests.map((r) => r.line),
      [],
      'reconciles of a waiting session read the session, Repository, Secret and workload from the watches',
    );
  });

  it('the Secret appearing wakes the session through the watch (no poll), and its data is never asked for', async () => {
    controller = await waitingForSecret('quiet-wake', { waitMs: HOUR });
    tap();
    await core.createNamespacedSecret({ namespace: 'quiet-wake', body: { metadata: { name: 'repo-secret' }, stringData: { RESTIC_PASSWORD: 'x' } } });
    const running = await eventually(async () => {
      const s = await get('quiet-wake');
      return s.status?.phase === 'Running' ? s : undefined;
    }, 30_000);
    await controller.idle();
    const requests = untap();
    assert.equal(condition(running, 'BackendSecretFound')?.status, 'True');
    const reads = requests.filter((r) => r.line.startsWith('GET '));
    // Beside the watches, only the pods' ServiceAccount, once, as stash-init is injected (whether
    // Kubernetes gives the pods a token: agent-container.ts withAgentToken).
    assert.deepEqual(
      reads.map((r) => r.line),
      ['GET /api/v1/namespaces/quiet-wake/serviceaccounts/default'],
      'no other GET: what the reconcile reads comes from the watches',
    );
    assert.ok(
      requests.some((r) => r.line.startsWith('PUT /apis/stash.appscode.com/v1beta1/namespaces/quiet-wake/restoresessions/restore/status')),
      requests.map((r) => r.line).join('\n'),
    );
  });

  it('Secrets are listed and watched as metadata only', async () => {
    tap();
    controller = new Controller(t.kc, { agent: { image: AGENT }, resyncMs: HOUR, pollMs: HOUR, waitMs: HOUR });
    await controller.start();
    const requests = untap().filter((r) => /\/secrets(\/|\?|$)/.test(r.line));
    assert.ok(requests.length >= 2, `a list and a watch of Secrets: ${requests.map((r) => r.line).join(', ')}`);
    for (const r of requests) assert.match(r.accept, /as=PartialObjectMetadata(List)?;g=meta\.k8s\.io;v=v1/, r.line);
  });
});

// `restorectl demo`: the whole loop on one machine. A sandbox cluster, a git server holding a copy
// of examples/, a restic repository made on the spot with data for the examples' hosts, and the
// daemon. It shows the plan, the restores running, a second commit picked up through the push
// webhook, the files restored and the status branch.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { KubeObject } from 'restore-controller/api/meta';
import type { RestoreSession } from 'restore-controller/api/restoresession';
import { isFinalPhase } from 'restore-controller/api/restoresession';
import { crdFor, MANAGED_KINDS } from 'restore-controller/api/crds';
import { Daemon } from 'restore-controller/daemon/daemon';
import { startHttpServer } from 'restore-controller/daemon/http-server';
import { hmacSha256Hex, webhookHandler } from 'restore-controller/daemon/webhook';
import { RESTORE_SESSIONS } from 'restore-controller/kube/resources';
import { planToText } from 'restore-controller/plan/render';
import { seedRepository } from '../restic/seed.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import { GitSource } from 'restore-controller/source/index';
import { GitHttpServer } from '../git-http-server.ts';
import { StatusWriter } from 'restore-controller/status/index';

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const PASSWORD = 'demo-only-password';
const WEBHOOK_SECRET = 'demo-only-webhook-secret';

export interface DemoOptions {
  dir?: string;
  /** Stop once every restore is final (tests); else stay up until Ctrl-C. */
  exit: boolean;
  out: (text: string) => void;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const say = (t: string) => opts.out(t + '\n');
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'restorectl-demo-'));
  mkdirSync(dir, { recursive: true });
  say(`restore-controller demo in ${dir}`);

  say('1. a restic repository with backups of the examples\' hosts');
  const files = (host: string) => ({ [`/source/data/${host}.json`]: `{"host":"${host}"}\n`, '/source/data/tmp.json': '{"scratch":true}\n', '/source/data/notes.txt': `notes of ${host}\n` });
  const hosts = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'app', 'host-0', 'host-1', 'host-2'];
  const repo = await seedRepository({ repoPath: join(dir, 'restic-repo'), password: PASSWORD, snapshots: hosts.map((host) => ({ host, files: files(host) })), fastKdf: true });

  say('2. the sandbox cluster (an embedded Kubernetes API whose pods run the agent for real)');
  const sandbox = await new Sandbox({ dir: join(dir, 'cluster'), nodes: 2 }).start();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(sandbox.kubeconfigPath);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const create = async (o: KubeObject) => {
    try {
      await objects.create(o as k8s.KubernetesObject);
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  };
  // CRDs go raw: client-node's typed serializer would drop `x-kubernetes-*` schema keys.
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  for (const k of MANAGED_KINDS) {
    await custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crdFor(k) }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const f of readdirSync(join(EXAMPLES, 'cluster-state'))) {
    for (const doc of readFileSync(join(EXAMPLES, 'cluster-state', f), 'utf8').split(/^---$/m)) {
      const o = parse(doc) as KubeObject | null;
      if (o && o.kind !== 'Node') await create(o);
    }
  }
  await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: PASSWORD } });
  for (const i of [0, 1, 2]) {
    await create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `source-data-${i}`, namespace: 'demo' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    await create({ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', metadata: { name: `source-data-${i}-snap`, namespace: 'demo' }, spec: { source: { persistentVolumeClaimName: `source-data-${i}` } } });
  }

  say('3. a git server holding a copy of examples/, the Repository pointing at the repository above');
  const git = await GitHttpServer.start({ root: join(dir, 'git') });
  const url = git.createRepo('restores');
  const work = join(dir, 'work');
  cpSync(join(EXAMPLES, 'clusters'), join(work, 'clusters'), { recursive: true });
  const repoFile = join(work, 'clusters/demo/repository.yaml');
  writeFileSync(repoFile, readFileSync(repoFile, 'utf8').replace('/data/stash-test/restic-repo', repo.repoPath));
  const g = (args: string[]) => run('git', args, { cwd: work, env: { ...process.env, GIT_AUTHOR_NAME: 'Demo', GIT_AUTHOR_EMAIL: 'demo@example.com', GIT_COMMITTER_NAME: 'Demo', GIT_COMMITTER_EMAIL: 'demo@example.com' } });
  await g(['init', '--quiet', '--initial-branch=main']);
  await g(['add', '-A']);
  await g(['commit', '--quiet', '-m', 'Add the demo restores']);
  await g(['push', '--quiet', url, 'main']);

  say('4. the daemon, following main and writing restore-status\n');
  const daemon = new Daemon({
    source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(dir, 'cache/source') }),
    statusWriter: new StatusWriter({ url, cacheDir: join(dir, 'cache/status') }),
    kubeConfig: kc,
    cluster: 'demo',
    intervalMs: 3000,
    controller: { agent: { image: Sandbox.DEFAULT_AGENT_IMAGE }, resyncMs: 1000, pollMs: 500 },
    log: () => {},
  });
  const first = await daemon.cycle();
  if (first.plan) say(planToText(first.plan));
  await daemon.start();

  const webhook = await startHttpServer('demo webhook', { host: '127.0.0.1', port: 0 }, webhookHandler({
    secret: WEBHOOK_SECRET,
    follow: { branch: 'main' },
    onPush: () => void daemon.trigger(),
  }));

  /** Prints the sessions' progress whenever it changes, until every one is final. */
  const follow = async (): Promise<RestoreSession[]> => {
    let last = '';
    let sessions: RestoreSession[] = [];
    for (const deadline = Date.now() + 10 * 60_000; Date.now() < deadline; ) {
      sessions = ((await custom.listClusterCustomObject({ ...RESTORE_SESSIONS })) as { items: RestoreSession[] }).items;
      const line = sessions.map((s) => {
        const done = (s.status?.stats ?? []).filter((x) => x.phase === 'Succeeded' || x.phase === 'Failed').length;
        return `${s.metadata.name} ${s.status?.phase ?? 'New'} ${done}/${s.status?.totalHosts ?? '?'}`;
      }).join(' | ');
      if (line !== last) say(`  ${new Date().toISOString().slice(11, 19)}  ${line}`);
      last = line;
      if (sessions.length && sessions.every((s) => isFinalPhase(s.status?.phase))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await daemon.trigger();
    return sessions;
  };
  await follow();

  say(`\n5. a second commit adds a restore; the push webhook (${webhook.url}, GitHub-style, HMAC-signed) triggers a cycle at once`);
  cpSync(join(EXAMPLES, 'demo-second-commit', 'audit-copy.yaml'), join(work, 'clusters/demo/audit-copy.yaml'));
  await g(['add', '-A']);
  await g(['commit', '--quiet', '-m', 'Copy host-0\'s JSON files into a new PVC']);
  await g(['push', '--quiet', url, 'main']);
  const head = (await g(['rev-parse', 'HEAD'])).stdout.trim();
  const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: head }));
  const pushedAt = performance.now();
  const hook = await fetch(`${webhook.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmacSha256Hex(WEBHOOK_SECRET, body)}` },
    body,
  });
  say(`  webhook answered ${hook.status}: ${await hook.text()}`);
  for (;;) {
    const created = await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'audit-copy' }).then(() => true, () => false);
    if (created) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  say(`  RestoreSession demo/audit-copy created ${Math.round(performance.now() - pushedAt)} ms after the webhook`);
  const sessions = await follow();

  say('\n6. files restored into the pods\' volumes');
  const volumes = join(sandbox.workDir, 'volumes', 'demo');
  for (const claim of readdirSync(volumes).sort()) {
    const found = (await run('find', ['.', '-type', 'f'], { cwd: join(volumes, claim) })).stdout.split('\n').filter(Boolean).sort();
    say(`  ${claim.padEnd(36)} ${found.join('  ') || '(empty)'}`);
  }
  say('\n7. the status branch: git log restore-status');
  say((await run('git', ['log', '--format=  %h %s', 'restore-status'], { cwd: git.repoPath('restores') })).stdout);

  const ok = sessions.length > 0 && sessions.every((s) => s.status?.phase === 'Succeeded');
  say(ok ? 'Every restore Succeeded.' : `Not every restore succeeded: ${sessions.map((s) => `${s.metadata.name}=${s.status?.phase}`).join(', ')}`);
  say(`\nLook around:\n  kubectl --kubeconfig ${sandbox.kubeconfigPath} get restoresessions -A\n  kubectl --kubeconfig ${sandbox.kubeconfigPath} describe restoresession -n demo sts-restore\n  git -C ${git.repoPath('restores')} log restore-status\n  git -C ${git.repoPath('restores')} show restore-status:clusters/demo/STATUS.md`);

  const stop = async () => {
    daemon.stop();
    await webhook.close();
    await git.close();
    await sandbox.stop();
  };
  if (opts.exit) {
    await stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    return ok ? 0 : 1;
  }
  say('\nThe demo stays up; Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stop();
  return 0;
}

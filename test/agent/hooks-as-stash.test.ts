// Hooks as Stash's (issue 18 §4): Go templates over Stash's hook summary in exec commands and
// httpPost bodies (stashed/apimachinery pkg/hooks), named ports looked up in the pod's containers
// and containerName honoured where the agent can honour it (kmodules/prober's extractPort).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RestoreSession } from '../../src/api/restoresession.ts';
import { HookTemplateError, renderHookTemplate } from '../../src/agent/hook-template.ts';
import { hookSummary, runHook } from '../../src/agent/hooks.ts';
import { Redactor } from '../../src/common/redact.ts';
import { INIT_CONTAINER_NAME, agentContainer } from '../../src/controller/agent-container.ts';
import { injectInitContainer } from '../../src/controller/injection.ts';

const session = (status: RestoreSession['status'] = {}): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 'deployment-restore', namespace: 'demo', creationTimestamp: '2026-01-01T12:00:00Z' },
  spec: { repository: { name: 'r' }, target: { ref: { kind: 'Deployment', name: 'stash-demo' } } },
  status,
});
const NOW = new Date('2026-01-01T12:01:30Z');
const failed = session({ stats: [{ hostname: 'host-0', phase: 'Failed', error: 'path /data not found' }] });

// The body of Stash's own Slack example (docs/guides/hooks/slack-notification/examples/restoresession.yaml).
const SLACK_BODY = `{{- $msg := dict  "type" "mrkdwn" "text" (printf ":x: Restore failed for %s/%s Reason: %s." .Namespace .Target.Name .Status.Error) -}}
{
  "blocks": [
      {
        "type": "section",
        "text": {{ toJson $msg }}
      }
    ]
}
`;

describe('hooks as Stash: templates', () => {
  it("renders Stash's Slack example over the summary of a failed restore", () => {
    const out = renderHookTemplate(SLACK_BODY, hookSummary(failed, NOW));
    assert.deepEqual(JSON.parse(out), {
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: ':x: Restore failed for demo/stash-demo Reason: path /data not found.' } }],
    });
  });

  it('gives the summary Stash gives: name, namespace, invoker, target (apiVersion defaulted), phase, duration, error', () => {
    const t = (text: string, s = failed) => renderHookTemplate(text, hookSummary(s, NOW));
    assert.equal(
      t('{{.Name}} {{.Namespace}} {{.Invoker.APIGroup}}/{{.Invoker.Kind}}/{{.Invoker.Name}}'),
      'deployment-restore demo stash.appscode.com/RestoreSession/deployment-restore',
    );
    assert.equal(t('{{.Target.APIVersion}} {{.Target.Kind}} {{.Target.Name}}'), 'apps/v1 Deployment stash-demo');
    assert.equal(t('{{.Status.Phase}} {{.Status.Duration}} {{.Status.Error}}'), 'Failed 1m30s path /data not found');
    assert.equal(t('{{.Status.Phase}} [{{.Status.Error}}]', session({ stats: [{ hostname: 'host-0', phase: 'Succeeded' }] })), 'Succeeded []');
    const cond = session({ conditions: [{ type: 'RestoreTargetFound', status: 'False', message: 'no such Deployment' }] });
    assert.equal(t('{{.Status.Phase}}: {{.Status.Error}}', cond), 'Failed: no such Deployment');
  });

  it('supports if/else if/else with eq, pipes, trim markers, and toJson as Go escapes it', () => {
    const s = hookSummary(failed, NOW);
    const text = '{{ if eq .Status.Phase "Succeeded" }}ok{{ else if eq .Status.Phase "Failed" "Unknown" }}bad{{ else }}?{{ end }}';
    assert.equal(renderHookTemplate(text, s), 'bad');
    assert.equal(renderHookTemplate('  {{- .Status.Phase | lower -}}  !', s), 'failed!');
    assert.equal(renderHookTemplate('{{ toJson (dict "a" "<b> & c") }}', s), '{"a":"\\u003cb\\u003e \\u0026 c"}');
  });

  it('says clearly what it does not support, naming it', () => {
    const s = hookSummary(failed, NOW);
    const fails = (text: string, message: RegExp) =>
      assert.throws(
        () => renderHookTemplate(text, s),
        (e: unknown) => e instanceof HookTemplateError && e.code === 'HookTemplateInvalid' && message.test(e.message),
        text,
      );
    fails('{{range .Stats}}{{end}}', /\{\{range\}\} at offset 0 is not supported in hook templates/);
    fails('{{ sha256sum .Name }}', /function "sha256sum" at offset 0 is not supported \(supported: and, default, dict/);
    fails('{{ .Status.Foo }}', /\.Status\.Foo does not exist \(there are \.Status\.Phase, \.Status\.Duration, \.Status\.Error\)/);
    fails('{{ if .Name }}x', /an \{\{if\}\} has no \{\{end\}\}/);
  });
});

describe('hooks as Stash: running', () => {
  const redactor = new Redactor([]);
  let port: number;
  const seen: { url?: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ url: req.url, body });
      res.writeHead(200).end('ok');
    });
  });
  before(
    (done) =>
      void server.listen(0, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        done();
      }),
  );
  after((done) => void server.close(done));

  it('renders the httpPost body and exec command with the summary before running them', async () => {
    const summary = hookSummary(failed, NOW);
    const post = await runHook({ httpPost: { port, path: '/slack', body: SLACK_BODY } }, { defaultHost: '127.0.0.1', redactor, summary });
    assert.equal(post.ok, true, post.message);
    assert.match(JSON.parse(seen.at(-1)!.body).blocks[0].text.text, /Restore failed for demo\/stash-demo Reason: path \/data not found\./);
    const exec = await runHook({ exec: { command: ['sh', '-c', 'echo "{{.Name}} is {{.Status.Phase}}"'] } }, { defaultHost: '127.0.0.1', redactor, summary });
    assert.match(exec.message, /exec succeeded: deployment-restore is Failed/);
    const broken = await runHook({ httpPost: { port, body: '{{ range . }}' } }, { defaultHost: '127.0.0.1', redactor, summary });
    assert.equal(broken.ok, false);
    assert.match(broken.message, /\{\{range\}\} at offset 0 is not supported/);
  });

  it("resolves a named port in containerName's ports, or the only container naming it", async () => {
    const ctx = { defaultHost: '127.0.0.1', redactor, containerPorts: { app: { http: port }, sidecar: { metrics: 1 } } };
    assert.equal((await runHook({ httpGet: { port: 'http', path: '/named' } }, ctx)).ok, true);
    assert.equal(seen.at(-1)!.url, '/named');
    assert.equal((await runHook({ httpGet: { port: 'http', path: '/in-app' }, containerName: 'app' }, ctx)).ok, true);
    const elsewhere = await runHook({ httpGet: { port: 'http' }, containerName: 'sidecar' }, ctx);
    assert.equal(elsewhere.ok, false);
    assert.match(elsewhere.message, /port "http" is not a named port of container "sidecar"; named ports: metrics \(sidecar\)/);
    const twice = await runHook({ tcpSocket: { port: 'http' } }, { ...ctx, containerPorts: { a: { http: port }, b: { http: port } } });
    assert.match(twice.message, /port "http" is named in several containers \(a, b\): set the hook's containerName/);
    assert.equal(
      (await runHook({ tcpSocket: { port: 'http' }, containerName: 'b' }, { ...ctx, containerPorts: { a: { http: 1 }, b: { http: port } } })).ok,
      true,
    );
  });

  it('runs an exec hook in the agent container only, refusing a containerName it cannot honour', async () => {
    const ctx = { defaultHost: '127.0.0.1', redactor, agentContainer: 'stash-init' };
    assert.equal((await runHook({ exec: { command: ['true'] }, containerName: 'stash-init' }, ctx)).ok, true);
    const r = await runHook({ exec: { command: ['true'] }, containerName: 'postgres' }, ctx);
    assert.equal(r.ok, false);
    assert.match(r.message, /exec hooks run in the restore agent's container stash-init, not in "postgres"/);
  });

  it("the injected agent learns the workload's named ports and its own container name", () => {
    const s = session();
    const container = agentContainer({ session: s, repository: undefined, agent: { image: 'x' }, name: INIT_CONTAINER_NAME, hostFrom: 'pod', dataMounts: [] });
    const out = injectInitContainer(
      { spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9000 }] }] } },
      { container, volumes: [], specHash: 'h', session: 'demo/deployment-restore' },
    );
    const env = Object.fromEntries(out.spec.initContainers![0]!.env!.map((e) => [e.name, e.value]));
    assert.deepEqual(JSON.parse(env['RESTORE_CONTAINER_PORTS']!), { app: { http: 8080 } });
    assert.equal(env['RESTORE_CONTAINER_NAME'], 'stash-init');
  });
});

// `restorectl run`'s options as a pure function of argv and the environment: the defaults, every
// flag's validation error (a UsageError naming the flag), the environment's fallbacks and the
// flags that cannot go together.
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/command.ts';
import { parseRunOptions } from '../../src/cli/commands/run-options.ts';
import { DEFAULT_AGENT_IMAGE } from '../../src/controller/agent-container.ts';

const GIT = ['--git-url', 'https://git.example/restores.git'];
const DIR = ['--source-dir', 'manifests', '--no-status'];

/** Asserts that `argv` is refused with a UsageError for `flag` whose message matches `message`. */
function refused(argv: string[], flag: string, message: RegExp, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => parseRunOptions(argv, env, '/home/op'),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.code, 'UsageError');
      assert.equal(e.data.flag, flag, e.message);
      assert.match(e.message, message);
      assert.match(e.message, /^run: /);
      return true;
    },
    argv.join(' '),
  );
}

describe('restorectl run: options', () => {
  describe('defaults', () => {
    it('a --git-url remote: branch main, the whole repository, the status branch, every minute, one replica', () => {
      assert.deepEqual(parseRunOptions(GIT, {}, '/home/op'), {
        source: { kind: 'git', url: 'https://git.example/restores.git', follow: { branch: 'main' }, path: '' },
        status: { branch: 'restore-status' },
        cluster: 'default',
        agentImage: DEFAULT_AGENT_IMAGE,
        intervalMs: 60_000,
        once: false,
        allowEmpty: false,
        cacheDir: '/home/op/.cache/restore-controller',
        clientLimits: { qps: 50, burst: 300 },
      });
    });

    it("--kube-api-qps and --kube-api-burst set the controller's rate limit; 0 QPS turns it off; nonsense is refused", () => {
      assert.deepEqual(parseRunOptions([...GIT, '--kube-api-qps', '0', '--kube-api-burst', '5']).clientLimits, { qps: 0, burst: 5 });
      assert.deepEqual(parseRunOptions([...GIT, '--kube-api-qps', '2.5']).clientLimits, { qps: 2.5, burst: 300 });
      assert.throws(() => parseRunOptions([...GIT, '--kube-api-qps=-1']), /--kube-api-qps must be a number ≥ 0/);
      assert.throws(() => parseRunOptions([...GIT, '--kube-api-burst', '0']), /--kube-api-burst must be an integer ≥ 1/);
    });

    it('a --source-dir folder with --no-status: no status branch', () => {
      const o = parseRunOptions(DIR, {}, '/home/op');
      assert.deepEqual(o.source, { kind: 'dir', dir: 'manifests' });
      assert.equal(o.status, undefined);
    });

    it('--no-status with --git-url: no status branch either', () => {
      assert.equal(parseRunOptions([...GIT, '--no-status']).status, undefined);
    });

    it('--leader-elect: the default Lease name and a 15 s duration, the namespace left to the pod', () => {
      assert.deepEqual(parseRunOptions([...GIT, '--leader-elect']).leaderElection, {
        namespace: undefined,
        name: 'restore-controller',
        leaseDurationMs: 15_000,
      });
    });
  });

  describe('every flag, as given', () => {
    it('reads the source, status, cluster, cycle and server flags', () => {
      const o = parseRunOptions([
        ...GIT,
        '--ref',
        'v1.2.0',
        '--path',
        'clusters/prod',
        '--git-credentials-dir',
        '/creds',
        '--include',
        '*.yaml',
        '--include',
        'db/*.yaml',
        '--verify-keyring',
        '/keys.asc',
        '--signing-key-file',
        '/status.asc',
        '--status-branch',
        'history',
        '--cluster',
        'prod',
        '--kubeconfig',
        '/kc',
        '--namespace',
        'team-a',
        '--agent-image',
        'registry/agent:2',
        '--interval',
        '30s',
        '--allow-empty',
        '--cache-dir',
        '/cache',
        '--webhook-addr',
        ':9292',
        '--webhook-secret-file',
        '/secret/token',
        '--metrics-addr',
        '127.0.0.1:8080',
        '--leader-elect',
        '--leader-election-namespace',
        'ops',
        '--leader-election-id',
        'restores',
        '--leader-election-lease-duration',
        '30s',
        '--kube-api-qps',
        '20',
        '--kube-api-burst',
        '30',
      ]);
      assert.deepEqual(o, {
        source: {
          kind: 'git',
          url: 'https://git.example/restores.git',
          follow: { ref: 'v1.2.0' },
          path: 'clusters/prod',
          credentialsDir: '/creds',
          verifyKeyring: '/keys.asc',
          signingKeyFile: '/status.asc',
        },
        include: ['*.yaml', 'db/*.yaml'],
        status: { branch: 'history' },
        cluster: 'prod',
        kubeconfig: '/kc',
        namespace: 'team-a',
        agentImage: 'registry/agent:2',
        intervalMs: 30_000,
        once: false,
        allowEmpty: true,
        cacheDir: '/cache',
        clientLimits: { qps: 20, burst: 30 },
        webhook: { addr: { host: undefined, port: 9292 }, secretFile: '/secret/token' },
        metricsAddr: { host: '127.0.0.1', port: 8080 },
        leaderElection: { namespace: 'ops', name: 'restores', leaseDurationMs: 30_000 },
      });
    });

    it('--branch is followed unless --ref pins a tag or commit', () => {
      assert.deepEqual((parseRunOptions([...GIT, '--branch', 'prod']).source as { follow: unknown }).follow, { branch: 'prod' });
      assert.deepEqual((parseRunOptions([...GIT, '--branch', 'prod', '--ref', 'abc123']).source as { follow: unknown }).follow, { ref: 'abc123' });
    });

    it('--once', () => {
      assert.equal(parseRunOptions([...GIT, '--once']).once, true);
    });
  });

  describe('the environment', () => {
    it('RESTORE_AGENT_IMAGE when --agent-image is not given; the flag wins', () => {
      assert.equal(parseRunOptions(GIT, { RESTORE_AGENT_IMAGE: 'mirror/agent:1' }).agentImage, 'mirror/agent:1');
      assert.equal(parseRunOptions([...GIT, '--agent-image', 'flag/agent:3'], { RESTORE_AGENT_IMAGE: 'mirror/agent:1' }).agentImage, 'flag/agent:3');
    });

    it('LOG_LEVEL and STATUS_SIGNING_PASSPHRASE', () => {
      const o = parseRunOptions(GIT, { LOG_LEVEL: 'debug', STATUS_SIGNING_PASSPHRASE: 'pass phrase' });
      assert.equal(o.logLevel, 'debug');
      assert.equal(o.signingPassphrase, 'pass phrase');
    });

    it('the cache under the home folder unless --cache-dir says where', () => {
      assert.equal(parseRunOptions(GIT, {}, '/var/lib/rc').cacheDir, '/var/lib/rc/.cache/restore-controller');
      assert.equal(parseRunOptions([...GIT, '--cache-dir', '/c'], {}, '/var/lib/rc').cacheDir, '/c');
    });
  });

  describe('validation errors, each naming its flag', () => {
    it('an unknown flag or a flag without its value', () => {
      assert.throws(
        () => parseRunOptions([...GIT, '--bogus']),
        (e: unknown) => e instanceof UsageError && /^run: Unknown option '--bogus'/.test(e.message),
      );
      assert.throws(
        () => parseRunOptions(['--git-url']),
        (e: unknown) => e instanceof UsageError && /--git-url/.test(e.message),
      );
    });

    it('--git-url or --source-dir: exactly one', () => {
      refused([], '--git-url', /give exactly one of --git-url or --source-dir/);
      refused([...GIT, '--source-dir', 'x'], '--git-url', /give exactly one of --git-url or --source-dir/);
    });

    it('--interval: a duration of at least 1s', () => {
      for (const bad of ['soon', '500ms', '10', ''])
        refused([...GIT, '--interval', bad], '--interval', new RegExp(`--interval "${bad}" is not a duration of at least 1s \\(e\\.g\\. 30s, 5m\\)`));
      assert.equal(parseRunOptions([...GIT, '--interval', '1s']).intervalMs, 1000);
      assert.equal(parseRunOptions([...GIT, '--interval', '1h30m']).intervalMs, 5_400_000);
    });

    it('--source-dir without --no-status', () => {
      refused(['--source-dir', 'x'], '--no-status', /the status branch lives on the --git-url remote; with --source-dir, pass --no-status/);
    });

    it('--namespace: a namespace name', () => {
      for (const bad of ['Not_A_Namespace', '-a', 'a-', 'x'.repeat(64)])
        refused([...GIT, `--namespace=${bad}`], '--namespace', /is not a namespace name \(lower-case letters, digits and "-", at most 63\)/);
      assert.equal(parseRunOptions([...GIT, '--namespace', 'x'.repeat(63)]).namespace, 'x'.repeat(63));
    });

    it('--leader-election-lease-duration: a duration of at least 3s', () => {
      refused(
        [...GIT, '--leader-elect', '--leader-election-lease-duration', '2s'],
        '--leader-election-lease-duration',
        /--leader-election-lease-duration "2s" is not a duration of at least 3s \(e\.g\. 15s\)/,
      );
      refused([...GIT, '--leader-elect', '--leader-election-lease-duration', 'long'], '--leader-election-lease-duration', /"long" is not a duration/);
    });

    it('--webhook-addr and --metrics-addr: listen addresses', () => {
      refused([...GIT, '--webhook-addr', '9292'], '--webhook-addr', /--webhook-addr "9292" is not a listen address: give HOST:PORT or :PORT/);
      refused([...GIT, '--metrics-addr', 'host:'], '--metrics-addr', /--metrics-addr "host:" is not a listen address/);
    });
  });

  describe('flags that cannot go together', () => {
    it('--once with a server or a Lease', () => {
      for (const flag of ['--webhook-addr', '--metrics-addr'])
        refused(
          [...GIT, '--once', flag, ':0'],
          flag,
          new RegExp(`--once runs one cycle and exits; it cannot be combined with ${flag} \\(.*scale the daemon to 0 first\\)`),
        );
      refused([...GIT, '--once', '--leader-elect'], '--leader-elect', /cannot be combined with --leader-elect/);
    });

    it('the leader-election flags without --leader-elect', () => {
      for (const flag of ['--leader-election-namespace', '--leader-election-id', '--leader-election-lease-duration'])
        refused([...GIT, flag, '15s'], flag, new RegExp(`${flag} has no effect without --leader-elect`));
    });

    it('the flags of a remote with --source-dir', () => {
      refused(
        [...DIR, '--verify-keyring', 'k.asc'],
        '--verify-keyring',
        /--verify-keyring checks commits of a --git-url remote; a --source-dir folder has none to check/,
      );
      refused([...DIR, '--signing-key-file', 'k.asc'], '--signing-key-file', /--signing-key-file signs status-branch commits, which need --git-url/);
      refused([...DIR, '--webhook-addr', ':0'], '--webhook-addr', /--webhook-addr needs --git-url/);
    });

    it('--webhook-secret-file without --webhook-addr', () => {
      refused([...GIT, '--webhook-secret-file', '/s'], '--webhook-secret-file', /--webhook-secret-file has no effect without --webhook-addr/);
    });

    it('the first mistake is the one named, in a fixed order', () => {
      refused(['--interval', 'x'], '--git-url', /exactly one of/);
      refused([...GIT, '--interval', 'x', '--namespace', 'BAD'], '--interval', /--interval/);
      refused([...GIT, '--once', '--metrics-addr', 'bad'], '--metrics-addr', /--once runs one cycle/);
    });
  });
});

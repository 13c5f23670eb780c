// Where the small REST client (rest.ts) connects, found as client-node's loadFromDefault finds it
// (kubeconfig.ts), without loading client-node: --kubeconfig, else one $KUBECONFIG file, else
// ~/.kube/config, else the pod's service account (KUBERNETES_SERVICE_HOST/PORT, its token and
// CA). A kubeconfig's server, CA, client certificate and key (files or -data), token or token
// file (read again for every request, as the kubelet rotates it), basic auth, impersonation and
// insecure-skip-tls-verify are read here; what is not (exec plugins, auth providers, proxy-url,
// several $KUBECONFIG files to merge) goes through client-node, loaded only then. With no
// kubeconfig and no service account it is an error (client-node would try http://localhost:8080).
import { accessSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { errorMessage } from '../common/errors.ts';
import { KubeConfigError } from './kubeconfig-error.ts';
import type { LoadOptions } from './kubeconfig-error.ts';
import type { RestConnection, RestTls } from './rest.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Env = Record<string, string | undefined>;

export interface RestConfigOptions extends LoadOptions {
  env?: Env;
  /** The service account folder of the in-cluster configuration (default SERVICE_ACCOUNT_DIR). */
  serviceAccountDir?: string;
}

/** The connection for `opts` (see the header for the order); client-node only for what this file does not read. */
export async function restConnection(opts: RestConfigOptions = {}): Promise<RestConnection> {
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const files = opts.kubeconfig ? [opts.kubeconfig] : kubeconfigFiles(env);
  if (files.length > 1) return viaClientNode(files, opts.context);
  const file = files[0];
  if (file === undefined) {
    if (exists(join(saDir, 'token'))) return inCluster(env, saDir);
    throw new KubeConfigError(
      'KubeConfigUnreadable',
      `no kubeconfig ($KUBECONFIG is not set and there is no ~/.kube/config) and no service account token in ${saDir}: pass --kubeconfig, or run in a pod that mounts its service account`,
      {},
    );
  }
  const config = await readKubeconfig(file);
  return fromKubeconfig(config, file, opts.context) ?? viaClientNode([file], opts.context);
}

/** The kubeconfig files client-node's loadFromDefault would read: $KUBECONFIG's (merged when several), else ~/.kube/config. */
function kubeconfigFiles(env: Env): string[] {
  const files = (env['KUBECONFIG'] ?? '').split(':').filter(Boolean);
  if (files.length) return files;
  const home = env['HOME'];
  if (home && exists(join(home, '.kube', 'config'))) return [join(home, '.kube', 'config')];
  return [];
}

function exists(path: string): boolean {
  try {
    accessSync(path);
    return true;
  } catch {
    return false;
  }
}

async function viaClientNode(files: string[], context: string | undefined): Promise<RestConnection> {
  const { loadKubeConfigFiles, restConnectionOf } = await import('./kubeconfig.ts');
  return restConnectionOf(loadKubeConfigFiles(files, context), `${files.join(':')} (through @kubernetes/client-node)`);
}

function unreadable(file: string, why: string, cause?: unknown): KubeConfigError {
  return new KubeConfigError('KubeConfigUnreadable', `cannot load kubeconfig ${file}: ${why}`, { file }, cause === undefined ? undefined : { cause });
}

type KubeconfigDoc = {
  clusters?: { name?: string; cluster?: Record<string, unknown> }[];
  users?: { name?: string; user?: Record<string, unknown> }[];
  contexts?: { name?: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
  'current-context'?: string;
};

/** The file, parsed: JSON as it is (what the kubelet writes), else YAML (the `yaml` package, loaded then). */
export async function readKubeconfig(file: string): Promise<KubeconfigDoc> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw unreadable(file, (e as NodeJS.ErrnoException).code ?? errorMessage(e), e);
  }
  let doc: unknown;
  try {
    doc = /^\s*\{/.test(text) ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (e) {
    throw unreadable(file, `not YAML or JSON: ${errorMessage(e)}`, e);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw unreadable(file, 'not a kubeconfig (expected a mapping with clusters, users and contexts)');
  return doc as KubeconfigDoc;
}

const USER_FALLBACK_KEYS = ['exec', 'auth-provider'];

/**
 * The connection of `context` (default current-context) of a parsed kubeconfig; undefined when it
 * uses what only client-node reads (exec, auth-provider, proxy-url). Relative paths are relative
 * to the file's folder, as kubectl reads them.
 */
export function fromKubeconfig(doc: KubeconfigDoc, file: string, context?: string): RestConnection | undefined {
  const list = <T extends { name?: string }>(key: string, xs: T[] | undefined): T[] => {
    if (xs === undefined || xs === null) return [];
    if (!Array.isArray(xs)) throw unreadable(file, `${key} is not a list`);
    xs.forEach((x, i) => {
      if (!x || typeof x !== 'object' || !x.name) throw unreadable(file, `${key}[${i}].name is missing`);
    });
    return xs;
  };
  const contexts = list('contexts', doc.contexts);
  const clusters = list('clusters', doc.clusters);
  const users = list('users', doc.users);
  const wanted = context ?? doc['current-context'];
  const ctx = contexts.find((c) => c.name === wanted);
  if (context && !ctx) {
    const names = contexts.map((c) => c.name!);
    throw new KubeConfigError(
      'KubeContextNotFound',
      `kubeconfig has no context "${context}" (it has: ${names.join(', ') || 'none'}; see kubectl config get-contexts)`,
      { context, contexts: names, file },
    );
  }
  if (!ctx?.context) throw unreadable(file, wanted ? `its current-context "${wanted}" is not among its contexts` : 'it has no current-context');
  const cluster = clusters.find((c) => c.name === ctx.context!.cluster)?.cluster;
  const server = typeof cluster?.['server'] === 'string' ? cluster['server'].replace(/\/$/, '') : undefined;
  if (!cluster || !server) throw unreadable(file, `context "${ctx.name}" names cluster "${ctx.context.cluster ?? ''}", which is missing or has no server`);
  const user = (users.find((u) => u.name === ctx.context!.user)?.user ?? {}) as Record<string, unknown>;
  if (cluster['proxy-url'] || USER_FALLBACK_KEYS.some((k) => user[k])) return undefined;

  const dir = dirname(file);
  const path = (p: unknown) => (typeof p === 'string' && p ? (isAbsolute(p) ? p : join(dir, p)) : undefined);
  const material = (fileKey: string, dataKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const f = path(from[fileKey]);
    if (f) {
      try {
        return readFileSync(f);
      } catch (e) {
        throw unreadable(file, `${fileKey} ${f}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`, e);
      }
    }
    return typeof from[dataKey] === 'string' && from[dataKey] ? Buffer.from(from[dataKey] as string, 'base64') : undefined;
  };
  const tls: RestTls = {};
  const ca = material('certificate-authority', 'certificate-authority-data', cluster);
  const cert = material('client-certificate', 'client-certificate-data', user);
  const key = material('client-key', 'client-key-data', user);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string' && cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];

  const token = typeof user['token'] === 'string' && user['token'] ? user['token'] : undefined;
  const tokenFile = path(user['tokenFile'] ?? user['token-file']);
  const basic =
    typeof user['username'] === 'string' && user['username']
      ? `Basic ${Buffer.from(`${user['username']}:${typeof user['password'] === 'string' ? user['password'] : ''}`).toString('base64')}`
      : undefined;
  const impersonate = typeof user['as'] === 'string' && user['as'] ? user['as'] : undefined;
  return {
    server,
    tls,
    headers: () => {
      const bearer = token ?? (tokenFile ? readToken(tokenFile, `the tokenFile of user "${ctx.context!.user}" in kubeconfig ${file}`) : undefined);
      return {
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : basic ? { Authorization: basic } : {}),
        ...(impersonate ? { 'Impersonate-User': impersonate } : {}),
      };
    },
    source: `kubeconfig ${file}`,
  };
}

/** A bearer token file, read again on each call (the kubelet rotates a projected token). */
function readToken(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new KubeConfigError(
      'KubeConfigUnreadable',
      `cannot read ${what} (${file}): ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`,
      { file },
      { cause: e },
    );
  }
}

/** The pod's service account, as client-node's loadFromCluster reads it (http for ports 80, 8080 and 8001). */
export function inCluster(env: Env, saDir = SERVICE_ACCOUNT_DIR): RestConnection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const tokenFile = join(saDir, 'token');
  if (!host || !port) {
    throw new KubeConfigError(
      'KubeConfigUnreadable',
      `no kubeconfig, and the service account in ${saDir} has no API server: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (pass --kubeconfig outside a pod)`,
      { file: tokenFile },
    );
  }
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const caFile = join(saDir, 'ca.crt');
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(caFile);
  } catch (e) {
    throw new KubeConfigError(
      'KubeConfigUnreadable',
      `cannot read the service account's CA ${caFile}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`,
      { file: caFile },
      { cause: e },
    );
  }
  return {
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    tls: { ca },
    headers: () => ({ Authorization: `Bearer ${readToken(tokenFile, "the service account's token")}` }),
    source: `in-cluster service account ${saDir}`,
  };
}

// Repository + storage Secret → how to reach the restic repository: the repository string, the
// environment, files to write (GCS key, CA certificate) and the global flags. Pure: nothing is
// written or run here; `writeBackendFiles` does the one I/O step.
//
// The repository string goes to restic as RESTIC_REPOSITORY (never `-r` on the command line: a
// REST URL may carry credentials), and the password as RESTIC_PASSWORD. Errors name missing keys,
// never values. `secrets` lists every value a log line must not show (see src/common/redact.ts).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Backend, BackendKind } from '../api/repository.ts';
import { backendKinds } from '../api/repository.ts';
import { MASK } from '../common/redact.ts';
import { ResticError } from './errors.ts';

/** Decoded Secret data (Kubernetes `data` base64-decoded, or `stringData`). */
export type SecretData = Readonly<Record<string, string | Uint8Array>>;

export interface BackendFile {
  path: string;
  content: string;
  mode: number;
}

export interface ResticBackend {
  kind: BackendKind;
  /** The restic repository string, passed as RESTIC_REPOSITORY. May contain credentials (rest). */
  repository: string;
  /** The repository string with any credentials masked, for messages. */
  displayRepository: string;
  /** Environment for restic, including RESTIC_REPOSITORY and RESTIC_PASSWORD. */
  env: Record<string, string>;
  /** Files restic needs (GCS service account key, CA certificate); write them before running. */
  files: BackendFile[];
  /** Global flags from the Repository: --cacert, --insecure-tls, --option <backend>.connections=N. */
  globalArgs: string[];
  /** Secret values to redact from anything shown (the Secret's values and derived forms). */
  secrets: string[];
}

export interface BackendOptions {
  /** Scratch folder for files restic needs (the agent's tempDir). */
  scratchDir: string;
  /**
   * Maps a local backend's mountPath to where it is on this machine (the sandbox runs pods as
   * folders); identity in a real pod.
   */
  mapLocalPath?: (mountPath: string) => string;
}

const PASSWORD_KEY = 'RESTIC_PASSWORD';
const CA_KEY = 'CA_CERT_DATA';

function text(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
}

class SecretReader {
  readonly data: SecretData;
  readonly name: string;
  readonly used: string[] = [];
  constructor(data: SecretData, name: string) {
    this.data = data;
    this.name = name;
  }
  get(key: string): string | undefined {
    const v = this.data[key];
    if (v === undefined) return undefined;
    const s = text(v);
    if (s === '') return undefined;
    this.used.push(s);
    return s;
  }
  require(key: string, why: string): string {
    const v = this.get(key);
    if (v === undefined) {
      throw new ResticError('SecretKeyMissing', `Secret ${this.name} has no ${key} (needed ${why})`, { secret: this.name, key });
    }
    return v;
  }
  /** Both or neither of two keys. */
  pair(a: string, b: string, why: string): [string, string] | undefined {
    const va = this.get(a);
    const vb = this.get(b);
    if (va === undefined && vb === undefined) return undefined;
    if (va === undefined) this.require(a, why);
    if (vb === undefined) this.require(b, why);
    return [va!, vb!];
  }
}

function trimSlashes(s: string | undefined): string {
  return (s ?? '').replace(/^\/+|\/+$/g, '');
}

/** `<container>:/<prefix>` as restic's gs/azure/swift/b2 backends spell it. */
function containerPath(scheme: string, container: string, prefix: string | undefined): string {
  return `${scheme}:${container}:/${trimSlashes(prefix)}`;
}

function requireField(kind: string, field: string, value: string | undefined): string {
  if (!value) throw new ResticError('BackendInvalid', `Repository backend ${kind} has no ${field}`, { kind, field });
  return value;
}

/** What one backend kind contributes: the repository string and its env, files and flags. */
interface KindAccess {
  repository: string;
  /** The repository string with credentials masked, when it holds any. */
  displayRepository?: string;
  env: Record<string, string>;
  files?: BackendFile[];
  globalArgs?: string[];
  /** `maxConnections` from the Repository, turned into `--option <backend>.connections=N`. */
  connections?: number;
  /** Derived forms of secret values (URL-encoded credentials, the URL holding them). */
  secrets?: string[];
}

type KindReader = (backend: Backend, secret: SecretReader, opts: BackendOptions) => KindAccess;

// One reader per backend kind (SPEC "Repository": repository strings and Secret keys).
const KINDS: Record<BackendKind, KindReader> = {
  local(backend, _secret, opts) {
    const local = backend.local!;
    const mount = requireField('local', 'mountPath', local.mountPath);
    const path = local.subPath ? posix.join(mount, local.subPath) : mount;
    return { repository: opts.mapLocalPath ? opts.mapLocalPath(path) : path, env: {} };
  },
  s3(backend, secret) {
    const s3 = backend.s3!;
    const endpoint = (s3.endpoint || 's3.amazonaws.com').replace(/\/+$/, '');
    const bucketPath = [requireField('s3', 'bucket', s3.bucket), trimSlashes(s3.prefix)].filter(Boolean).join('/');
    const env: Record<string, string> = {};
    // keys are optional: without them restic uses the pod's cloud identity (IAM role, IRSA)
    const keys = secret.pair('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'for the s3 backend (give both or neither)');
    if (keys) [env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY] = keys;
    const token = secret.get('AWS_SESSION_TOKEN');
    if (token) env.AWS_SESSION_TOKEN = token;
    if (s3.region) env.AWS_DEFAULT_REGION = s3.region;
    return { repository: `s3:${endpoint}/${bucketPath}`, env, globalArgs: s3.insecureTLS ? ['--insecure-tls'] : [] };
  },
  gcs(backend, secret, opts) {
    const gcs = backend.gcs!;
    const env: Record<string, string> = {};
    const files: BackendFile[] = [];
    const project = secret.get('GOOGLE_PROJECT_ID');
    if (project) env.GOOGLE_PROJECT_ID = project;
    const key = secret.get('GOOGLE_SERVICE_ACCOUNT_JSON_KEY');
    if (key) {
      const path = join(opts.scratchDir, 'gcs-service-account.json');
      files.push({ path, content: key, mode: 0o600 });
      env.GOOGLE_APPLICATION_CREDENTIALS = path;
    }
    return { repository: containerPath('gs', requireField('gcs', 'bucket', gcs.bucket), gcs.prefix), env, files, connections: gcs.maxConnections };
  },
  azure(backend, secret) {
    const az = backend.azure!;
    const env: Record<string, string> = { AZURE_ACCOUNT_NAME: secret.require('AZURE_ACCOUNT_NAME', 'for the azure backend') };
    const sas = secret.get('AZURE_ACCOUNT_SAS');
    if (sas) env.AZURE_ACCOUNT_SAS = sas;
    else env.AZURE_ACCOUNT_KEY = secret.require('AZURE_ACCOUNT_KEY', 'for the azure backend (or AZURE_ACCOUNT_SAS)');
    return { repository: containerPath('azure', requireField('azure', 'container', az.container), az.prefix), env, connections: az.maxConnections };
  },
  swift(backend, secret) {
    const sw = backend.swift!;
    const repository = containerPath('swift', requireField('swift', 'container', sw.container), sw.prefix);
    const env: Record<string, string> = {};
    for (const key of Object.keys(secret.data).sort()) {
      if (/^(ST|OS)_[A-Z0-9_]+$/.test(key) || key === 'SWIFT_DEFAULT_CONTAINER_POLICY') {
        const v = secret.get(key);
        if (v !== undefined) env[key] = v;
      }
    }
    if (!env.ST_AUTH && !env.OS_AUTH_URL && !env.OS_STORAGE_URL) {
      throw new ResticError('SecretKeyMissing', `Secret ${secret.name} has no ST_AUTH or OS_AUTH_URL (needed for the swift backend)`, {
        secret: secret.name,
        key: 'OS_AUTH_URL',
      });
    }
    return { repository, env };
  },
  b2(backend, secret) {
    const b2 = backend.b2!;
    const repository = containerPath('b2', requireField('b2', 'bucket', b2.bucket), b2.prefix);
    const env = {
      B2_ACCOUNT_ID: secret.require('B2_ACCOUNT_ID', 'for the b2 backend'),
      B2_ACCOUNT_KEY: secret.require('B2_ACCOUNT_KEY', 'for the b2 backend'),
    };
    return { repository, env, connections: b2.maxConnections };
  },
  rest(backend, secret) {
    const url = requireField('rest', 'url', backend.rest!.url);
    const creds = secret.pair('REST_SERVER_USERNAME', 'REST_SERVER_PASSWORD', 'for the rest backend (give both or neither)');
    if (!creds) return { repository: `rest:${url}`, env: {} };
    // restic 0.14 reads rest credentials only from the URL
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ResticError('BackendInvalid', `Repository backend rest has an invalid url`, { kind: 'rest', field: 'url' });
    }
    u.username = encodeURIComponent(creds[0]);
    u.password = encodeURIComponent(creds[1]);
    const displayRepository = `rest:${u.protocol}//${u.username}:${MASK}@${u.host}${u.pathname}${u.search}${u.hash}`;
    return { repository: `rest:${u.href}`, displayRepository, env: {}, secrets: [u.username, u.password, u.href] };
  },
};

/**
 * How to reach the repository a Repository's backend names, with the credentials of its Secret.
 * Throws ResticError BackendInvalid (no or several backends, missing field) or SecretKeyMissing.
 */
export function resticBackend(backend: Backend, secretData: SecretData, opts: BackendOptions & { secretName?: string }): ResticBackend {
  const kinds = backendKinds(backend);
  if (kinds.length !== 1) {
    throw new ResticError('BackendInvalid', kinds.length === 0 ? 'Repository names no backend' : `Repository names several backends: ${kinds.join(', ')}`, {
      kinds,
    });
  }
  const kind = kinds[0]!;
  const secret = new SecretReader(secretData, opts.secretName ?? backend.storageSecretName ?? '(storage secret)');
  const password = secret.require(PASSWORD_KEY, 'to open the restic repository');
  const access = KINDS[kind](backend, secret, opts);
  const env: Record<string, string> = { RESTIC_PASSWORD: password, ...access.env };
  const files = [...(access.files ?? [])];
  const globalArgs = [...(access.globalArgs ?? [])];
  const ca = secret.get(CA_KEY);
  if (ca) {
    const path = join(opts.scratchDir, 'ca.crt');
    files.push({ path, content: ca, mode: 0o600 });
    globalArgs.push('--cacert', path);
  }
  globalArgs.push(...connectionArgs(kind, access.connections));
  env.RESTIC_REPOSITORY = access.repository;
  return {
    kind,
    repository: access.repository,
    displayRepository: access.displayRepository ?? access.repository,
    env,
    files,
    globalArgs,
    // every value of the Secret, used or not, plus derived forms
    secrets: [
      ...new Set([
        ...Object.values(secretData)
          .map(text)
          .filter((v) => v !== ''),
        ...secret.used,
        ...(access.secrets ?? []),
      ]),
    ],
  };
}

/** `--option <backend>.connections=N` for a positive maxConnections (restic calls gcs `gs`). */
export function connectionArgs(kind: BackendKind, connections: number | undefined): string[] {
  if (connections === undefined || connections <= 0) return [];
  return ['--option', `${kind === 'gcs' ? 'gs' : kind}.connections=${Math.floor(connections)}`];
}

/** Write the files a backend needs (mode 0600, folders created). */
export async function writeBackendFiles(b: ResticBackend): Promise<void> {
  for (const f of b.files) {
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.content, { mode: f.mode });
    await chmod(f.path, f.mode);
  }
}

// How to reach a database and log in, from its AppBinding (appcatalog.appscode.com/v1alpha1) and
// the Secrets it names, following kmodules' AppBinding helpers and Stash's addons: the host and
// port from `clientConfig.service` (`<name>.<namespace>.svc`, preferred) or `clientConfig.url`
// (a URL, or MySQL's `user@tcp(host:port)/db`), the credentials from `spec.secret` after
// `secretTransforms`, TLS from `clientConfig.caBundle` and `spec.tlsSecret`, PostgreSQL's
// `sslmode` from the service query or the url. Pure: the Secrets are read by the caller.
import type { AppBinding } from '../api/appbinding.ts';
import type { DatabaseAddon } from './addons.ts';
import { DatabaseError } from './errors.ts';

export interface Connection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** PostgreSQL's sslmode, when the AppBinding sets one. */
  sslmode?: string;
  /** PEM of the server's CA (clientConfig.caBundle, decoded). */
  caCert?: string;
  /** PEM of the client certificate and key (spec.tlsSecret, or Redis's parameters.clientCertSecret). */
  clientCert?: string;
  clientKey?: string;
  /** `namespace/name` of the AppBinding, for messages. */
  appBinding: string;
}

type SecretData = Readonly<Record<string, string>>;

/** The Secrets an AppBinding's connection reads, by name: credentials, TLS, transforms' sources. */
export function appBindingSecretNames(ab: AppBinding): string[] {
  const names = new Set<string>();
  if (ab.spec.secret?.name) names.add(ab.spec.secret.name);
  if (ab.spec.tlsSecret?.name) names.add(ab.spec.tlsSecret.name);
  for (const t of ab.spec.secretTransforms ?? []) {
    const from = (t as { addKeysFrom?: { secretRef?: { name?: string } } }).addKeysFrom?.secretRef?.name;
    if (from) names.add(from);
  }
  const clientCert = redisClientCertSecret(ab);
  if (clientCert) names.add(clientCert);
  return [...names];
}

function redisClientCertSecret(ab: AppBinding): string | undefined {
  const p = ab.spec.parameters as { clientCertSecret?: { name?: unknown } } | undefined;
  return typeof p?.clientCertSecret?.name === 'string' ? p.clientCertSecret.name : undefined;
}

/**
 * The credentials after the AppBinding's `secretTransforms` (kmodules TransformSecret): addKey
 * (stringValue, or value in base64), renameKey, addKeysFrom (another Secret of the namespace),
 * removeKey, in order.
 */
export function transformSecret(ab: AppBinding, data: SecretData, secrets: Readonly<Record<string, SecretData>>): Record<string, string> {
  const out: Record<string, string> = { ...data };
  for (const raw of ab.spec.secretTransforms ?? []) {
    const t = raw as {
      addKey?: { key: string; value?: string; stringValue?: string };
      renameKey?: { from: string; to: string };
      addKeysFrom?: { secretRef?: { name?: string } };
      removeKey?: { key: string };
    };
    if (t.addKey) out[t.addKey.key] = t.addKey.stringValue ?? Buffer.from(t.addKey.value ?? '', 'base64').toString('utf8');
    else if (t.renameKey) {
      if (t.renameKey.from in out) {
        out[t.renameKey.to] = out[t.renameKey.from]!;
        delete out[t.renameKey.from];
      }
    } else if (t.addKeysFrom?.secretRef?.name) Object.assign(out, secrets[t.addKeysFrom.secretRef.name] ?? {});
    else if (t.removeKey) delete out[t.removeKey.key];
  }
  return out;
}

const DSN_HOST = /@?tcp\(([^)]*)\)/;

/** Host and port of the AppBinding: the service (preferred, as kmodules), else the url. */
export function serverOf(ab: AppBinding, defaultPort: number): { host: string; port: number } {
  const key = `${ab.metadata.namespace}/${ab.metadata.name}`;
  const c = ab.spec.clientConfig ?? {};
  if (c.service) {
    const ns = c.service.namespace || ab.metadata.namespace;
    return { host: `${c.service.name}.${ns}.svc`, port: c.service.port || defaultPort };
  }
  if (c.url) {
    const dsn = DSN_HOST.exec(c.url);
    const hostPort = dsn ? dsn[1]! : hostPortOfUrl(c.url);
    const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(hostPort ?? '');
    if (m?.[1]) return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
    throw new DatabaseError(
      'AppBindingInvalid',
      `AppBinding ${key}: spec.clientConfig.url ${JSON.stringify(stripCredentials(c.url))} names no host: write it as scheme://host:port/…`,
      {
        appBinding: key,
      },
    );
  }
  throw new DatabaseError(
    'AppBindingInvalid',
    `AppBinding ${key} has neither spec.clientConfig.url nor spec.clientConfig.service: say where the database listens`,
    {
      appBinding: key,
    },
  );
}

function hostPortOfUrl(url: string): string | undefined {
  try {
    const u = new URL(url.includes('://') ? url : `tcp://${url}`);
    return u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } catch {
    return undefined;
  }
}

function stripCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//').replace(/^[^@/]*@tcp\(/, 'tcp(');
}

/** PostgreSQL's sslmode: `sslmode=<mode>` in the service's query, or the url's `sslmode` parameter. */
export function sslmodeOf(ab: AppBinding): string | undefined {
  const key = `${ab.metadata.namespace}/${ab.metadata.name}`;
  const c = ab.spec.clientConfig ?? {};
  if (c.service) {
    const q = c.service.query;
    if (!q) return undefined;
    const parts = q.split('=');
    if (parts.length !== 2) {
      throw new DatabaseError('AppBindingInvalid', `AppBinding ${key}: spec.clientConfig.service.query ${JSON.stringify(q)} is not sslmode=<mode>`, {
        appBinding: key,
      });
    }
    return parts[1]!.trim() || undefined;
  }
  if (c.url) {
    const m = /[?&]sslmode=([^&#]*)/.exec(c.url);
    return m?.[1] ? decodeURIComponent(m[1]) : undefined;
  }
  return undefined;
}

const CREDENTIAL_KEYS: Record<DatabaseAddon['kind'], { user: string[]; password: string[]; required: boolean }> = {
  // POSTGRES_USER / POSTGRES_PASSWORD: Stash's deprecated keys, still read after username/password.
  postgres: { user: ['username', 'POSTGRES_USER'], password: ['password', 'POSTGRES_PASSWORD'], required: true },
  mysql: { user: ['username'], password: ['password'], required: true },
  mariadb: { user: ['username'], password: ['password'], required: true },
  // Redis may run without auth; its AppBinding then names no Secret.
  redis: { user: ['username'], password: ['password'], required: false },
};

export interface ConnectionInput {
  appBinding: AppBinding;
  addon: DatabaseAddon;
  /** The Secrets of {@link appBindingSecretNames}, by name (decoded data). */
  secrets: Readonly<Record<string, SecretData>>;
  /** `task.params` `user` (PostgreSQL with a client certificate: the user to log in as). */
  user?: string;
}

/** Everything the client needs to reach and log in to the AppBinding's database. */
export function connectionOf({ appBinding: ab, addon, secrets, user }: ConnectionInput): Connection {
  const key = `${ab.metadata.namespace}/${ab.metadata.name}`;
  const { host, port } = serverOf(ab, addon.defaultPort);
  const conn: Connection = { host, port, appBinding: key };
  const rules = CREDENTIAL_KEYS[addon.kind];
  const secretName = ab.spec.secret?.name;
  if (secretName) {
    const creds = transformSecret(ab, secrets[secretName] ?? {}, secrets);
    const pick = (keys: string[], what: string): string | undefined => {
      for (const k of keys) if (creds[k] !== undefined) return creds[k];
      if (!rules.required) return undefined;
      throw new DatabaseError(
        'DatabaseSecretKeyMissing',
        `Secret ${ab.metadata.namespace}/${secretName} of AppBinding ${key} has no ${keys.join(' or ')} key (the ${what}): add it, or a secretTransforms entry that makes it`,
        { appBinding: key, secret: `${ab.metadata.namespace}/${secretName}`, key: keys[0]! },
      );
    };
    const username = pick(rules.user, 'database user');
    const password = pick(rules.password, 'database password');
    if (username !== undefined) conn.username = username;
    if (password !== undefined) conn.password = password;
  } else if (rules.required) {
    throw new DatabaseError(
      'DatabaseSecretKeyMissing',
      `AppBinding ${key} names no spec.secret: ${addon.title} needs a Secret with username and password keys`,
      {
        appBinding: key,
        key: 'username',
      },
    );
  }
  if (ab.spec.clientConfig?.caBundle) conn.caCert = Buffer.from(ab.spec.clientConfig.caBundle, 'base64').toString('utf8');
  const tlsName = addon.kind === 'redis' ? redisClientCertSecret(ab) : ab.spec.tlsSecret?.name;
  if (tlsName && (addon.kind !== 'redis' || conn.caCert)) {
    const tls = secrets[tlsName] ?? {};
    for (const k of ['tls.crt', 'tls.key']) {
      if (tls[k] === undefined) {
        throw new DatabaseError(
          'DatabaseSecretKeyMissing',
          `TLS Secret ${ab.metadata.namespace}/${tlsName} of AppBinding ${key} has no ${k} key (the client ${k === 'tls.crt' ? 'certificate' : 'private key'})`,
          {
            appBinding: key,
            secret: `${ab.metadata.namespace}/${tlsName}`,
            key: k,
          },
        );
      }
    }
    conn.clientCert = tls['tls.crt'];
    conn.clientKey = tls['tls.key'];
    if (addon.kind === 'postgres' && user) conn.username = user;
  }
  if (addon.kind === 'postgres') {
    const mode = sslmodeOf(ab);
    if (mode) conn.sslmode = mode;
  }
  return conn;
}

/** `host:port`, for messages. */
export function serverName(c: Pick<Connection, 'host' | 'port'>): string {
  return c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}

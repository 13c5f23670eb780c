// The restore Tasks of Stash's official catalog, by name. Stash names them `<addon>-restore-<version>`
// (stashed/installer catalog/raw/<addon>/<version>/<addon>-restore-task.yaml) plus `pvc-restore`,
// which the Stash operator installs itself (stashed/stash pkg/util/crds.go EnsureDefaultTasks).
// SPEC Decision: these names select a built-in restore of the agent when no Task of that name is
// installed, for the addons marked `builtIn`; the others need Stash's catalog Task in the cluster.

export interface AddonFamily {
  /** The addon as the catalog names it (`postgres`, `mysql`…). */
  addon: string;
  /** What it restores, for messages. */
  title: string;
  /** The versions of Stash's catalog (stashed/installer catalog/raw/<addon>/). */
  versions: readonly string[];
  /** Whether the agent restores it without Stash's catalog installed. */
  builtIn: boolean;
}

export const ADDON_FAMILIES: readonly AddonFamily[] = [
  { addon: 'postgres', title: 'PostgreSQL', builtIn: true, versions: ['9.6.19', '10.14', '11.9', '12.4', '13.1', '14.0', '15.1', '16.1', '17.2', '18.2'] },
  { addon: 'mysql', title: 'MySQL', builtIn: true, versions: ['5.7.25', '8.0.3', '8.0.14', '8.0.21'] },
  { addon: 'mariadb', title: 'MariaDB', builtIn: true, versions: ['10.6.23'] },
  {
    addon: 'mongodb',
    title: 'MongoDB',
    builtIn: false,
    versions: ['3.4.17', '3.4.22', '3.6.8', '3.6.13', '4.0.3', '4.0.5', '4.0.11', '4.1.4', '4.1.7', '4.1.13', '4.2.3', '4.4.6', '5.0.3', '5.0.15', '6.0.5'],
  },
  { addon: 'redis', title: 'Redis', builtIn: true, versions: ['5.0.13', '6.2.5', '7.0.5'] },
  {
    addon: 'elasticsearch',
    title: 'Elasticsearch',
    builtIn: false,
    versions: ['5.6.4', '6.2.4', '6.3.0', '6.4.0', '6.5.3', '6.8.0', '7.2.0', '7.3.2', '7.14.0', '8.2.0'],
  },
  { addon: 'etcd', title: 'etcd', builtIn: false, versions: ['3.5.0'] },
  { addon: 'nats', title: 'NATS', builtIn: false, versions: ['2.6.1', '2.8.2'] },
  { addon: 'perconaxtradb', title: 'Percona XtraDB', builtIn: false, versions: ['5.7', '8.0', '8.4'] },
  { addon: 'vault', title: 'Vault', builtIn: false, versions: ['1.10.3'] },
];

/** Stash's own task for stand-alone PVCs (no version in its name). */
export const PVC_RESTORE_TASK = 'pvc-restore';

export interface OfficialTask {
  name: string;
  /** `pvc` for pvc-restore, else the addon. */
  addon: string;
  title: string;
  /** The version in the name (absent for pvc-restore). */
  version?: string;
  /** Whether the version is one Stash's catalog has. */
  knownVersion: boolean;
  builtIn: boolean;
  /** What the task restores into: a PVC or a database through an AppBinding. */
  target: 'PersistentVolumeClaim' | 'AppBinding';
  /** The catalog's versions of this addon. */
  versions: readonly string[];
}

const TASK_NAME = /^([a-z]+)-restore-(\d+(?:\.\d+)*)$/;

/** The official task `name` stands for, if it is one of Stash's catalog names. */
export function officialTask(name: string): OfficialTask | undefined {
  if (name === PVC_RESTORE_TASK) return { name, addon: 'pvc', title: 'PVC', knownVersion: true, builtIn: true, target: 'PersistentVolumeClaim', versions: [] };
  const m = TASK_NAME.exec(name);
  const family = m && ADDON_FAMILIES.find((f) => f.addon === m[1]);
  if (!m || !family) return undefined;
  const version = m[2]!;
  return {
    name,
    addon: family.addon,
    title: family.title,
    version,
    knownVersion: family.versions.includes(version),
    builtIn: family.builtIn,
    target: 'AppBinding',
    versions: family.versions,
  };
}

/** The built-in task names for a message: `postgres-restore-<version>, …, pvc-restore`. */
export function builtInTaskNames(): string[] {
  return [...ADDON_FAMILIES.filter((f) => f.builtIn).map((f) => `${f.addon}-restore-<version>`), PVC_RESTORE_TASK];
}

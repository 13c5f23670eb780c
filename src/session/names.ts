// Deterministic, DNS-safe names for what the controller creates (≤ 63 characters, hash suffix
// when shortened, so two long names never collide).
import { createHash } from 'node:crypto';

export const DNS_LABEL_MAX = 63;

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Joins parts into a DNS-1123 label; too long → truncated with `-<hash of the full name>`. */
export function dnsLabel(...parts: (string | number)[]): string {
  const full = parts
    .map(String)
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (full.length <= DNS_LABEL_MAX) return full;
  const hash = shortHash(full);
  return `${full.slice(0, DNS_LABEL_MAX - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** `stash-restore-<session>-<i>` (SPEC restore Job). */
export function restoreJobName(session: string, index: number): string {
  return dnsLabel('stash-restore', session, index);
}

/** The ServiceAccount a session's restore Jobs run as when runtimeSettings.pod names none (Stash's `restoresession-<name>-<index>`). */
export function restoreServiceAccountName(session: string, index = 0): string {
  return dnsLabel('restoresession', session, index);
}

/** The Lease the pods of a multi-replica Deployment compete for (SPEC Hosts). */
export function restoreLeaseName(kind: string, name: string): string {
  return dnsLabel('lock', kind, name, 'restore');
}

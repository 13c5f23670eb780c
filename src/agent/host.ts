// Which host this agent restores (SPEC host table), from how it was started and its pod's env.
import type { RestoreSession } from '../api/restoresession.ts';

export type HostFrom = 'pod' | 'alias' | 'pvc-ordinal';

export interface HostEnv {
  POD_NAME?: string;
  NODE_NAME?: string;
  POD_ORDINAL?: string;
}

/** An identity error names what is missing and where it should come from. */
export class HostIdentityError extends Error {
  readonly code = 'HostIdentityError';
}

export function hostIdentity(session: RestoreSession, hostFrom: HostFrom, env: HostEnv): string {
  const alias = session.spec.target?.alias;
  switch (hostFrom) {
    case 'alias':
      return alias || 'host-0';
    case 'pvc-ordinal': {
      const ordinal = env.POD_ORDINAL;
      if (!ordinal || !/^\d+$/.test(ordinal)) throw new HostIdentityError(`POD_ORDINAL is ${ordinal === undefined ? 'not set' : `"${ordinal}"`}: a volumeClaimTemplates restore Job sets it to the ordinal it restores`);
      return `${alias || 'host'}-${ordinal}`;
    }
    case 'pod': {
      const kind = session.spec.target?.ref?.kind;
      if (kind === 'StatefulSet') {
        const m = /-(\d+)$/.exec(env.POD_NAME ?? '');
        if (!m) throw new HostIdentityError(`POD_NAME is ${env.POD_NAME ? `"${env.POD_NAME}"` : 'not set'}: a StatefulSet pod's name ends with its ordinal (set POD_NAME from metadata.name)`);
        return `${alias || 'host'}-${m[1]}`;
      }
      if (kind === 'DaemonSet') {
        if (!env.NODE_NAME) throw new HostIdentityError('NODE_NAME is not set: a DaemonSet pod restores the host named after its node (set NODE_NAME from spec.nodeName)');
        return alias ? `${alias}-${env.NODE_NAME}` : env.NODE_NAME;
      }
      return alias || 'host-0';
    }
  }
}

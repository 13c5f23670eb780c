// Which host this agent restores (SPEC host table), from how it was started and its pod's env.
import type { RestoreSession } from '../api/restoresession.ts';
import { HostIdentityError } from './errors.ts';

export { HostIdentityError } from './errors.ts';

export type HostFrom = 'pod' | 'alias' | 'pvc-ordinal';

export interface HostEnv {
  POD_NAME?: string;
  NODE_NAME?: string;
  POD_ORDINAL?: string;
}

export function hostIdentity(session: RestoreSession, hostFrom: HostFrom, env: HostEnv): string {
  const alias = session.spec.target?.alias;
  switch (hostFrom) {
    case 'alias':
      return alias || 'host-0';
    case 'pvc-ordinal': {
      const ordinal = env.POD_ORDINAL;
      if (!ordinal || !/^\d+$/.test(ordinal))
        throw new HostIdentityError(
          'PodOrdinalMissing',
          `POD_ORDINAL is ${ordinal === undefined ? 'not set' : `"${ordinal}"`}: a volumeClaimTemplates restore Job sets it to the ordinal it restores`,
          { variable: 'POD_ORDINAL', ...(ordinal !== undefined ? { value: ordinal } : {}) },
        );
      return `${alias || 'host'}-${ordinal}`;
    }
    case 'pod': {
      const kind = session.spec.target?.ref?.kind;
      if (kind === 'StatefulSet') {
        const m = /-(\d+)$/.exec(env.POD_NAME ?? '');
        if (!m)
          throw new HostIdentityError(
            'PodNameWithoutOrdinal',
            `POD_NAME is ${env.POD_NAME ? `"${env.POD_NAME}"` : 'not set'}: a StatefulSet pod's name ends with its ordinal (set POD_NAME from metadata.name)`,
            { variable: 'POD_NAME', ...(env.POD_NAME ? { value: env.POD_NAME } : {}) },
          );
        return `${alias || 'host'}-${m[1]}`;
      }
      if (kind === 'DaemonSet') {
        if (!env.NODE_NAME)
          throw new HostIdentityError(
            'NodeNameMissing',
            'NODE_NAME is not set: a DaemonSet pod restores the host named after its node (set NODE_NAME from spec.nodeName)',
            { variable: 'NODE_NAME' },
          );
        return alias ? `${alias}-${env.NODE_NAME}` : env.NODE_NAME;
      }
      return alias || 'host-0';
    }
  }
}

// --kube-api-qps and --kube-api-burst (kube-controller-manager's names), shared by `controller` and `run`. Pure.
import { DEFAULT_CLIENT_LIMITS } from '../../kube/client.ts';
import type { ClientLimits } from '../../kube/client.ts';
import { UsageError } from '../command.ts';

export const CLIENT_LIMIT_FLAGS = {
  'kube-api-qps': { type: 'string', default: String(DEFAULT_CLIENT_LIMITS.qps) },
  'kube-api-burst': { type: 'string', default: String(DEFAULT_CLIENT_LIMITS.burst) },
} as const;

export const CLIENT_LIMIT_HELP = `  --kube-api-qps N      the controller's sustained API requests per second (default ${DEFAULT_CLIENT_LIMITS.qps}; 0: no limit)
  --kube-api-burst N    requests it may send at once above that (default ${DEFAULT_CLIENT_LIMITS.burst})`;

export function parseClientLimits(command: string, values: { 'kube-api-qps'?: string; 'kube-api-burst'?: string }): ClientLimits {
  const qps = Number(values['kube-api-qps']);
  const burst = Number(values['kube-api-burst']);
  if (!Number.isFinite(qps) || qps < 0)
    throw new UsageError(`${command}: --kube-api-qps must be a number ≥ 0 (0 turns the limit off); got "${values['kube-api-qps']}"`, {
      flag: '--kube-api-qps',
    });
  if (!Number.isInteger(burst) || burst < 1)
    throw new UsageError(`${command}: --kube-api-burst must be an integer ≥ 1; got "${values['kube-api-burst']}"`, { flag: '--kube-api-burst' });
  return { qps, burst };
}

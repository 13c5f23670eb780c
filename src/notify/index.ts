// Notifications when a restore is done or blocked: the events (pure), the requests (pure), the sender.
export { announce, newlyFinal, phasesOf, summary } from './events.ts';
export type { Announcement, Notification, NotificationEvent } from './events.ts';
export { COMMIT_STATUS_PROVIDERS, commitStatusRequest, commitStatusTargetOf, webhookRequest } from './requests.ts';
export type { CommitStatusProvider, CommitStatusTarget, NotifyRequest } from './requests.ts';
export { Notifier, webhookSecrets } from './notifier.ts';
export type { NotifierOptions } from './notifier.ts';
export { NotifyError } from './errors.ts';

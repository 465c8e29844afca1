import type { JobQueues } from '../jobs/jobs.ts';

/**
 * Sends a subscriber the link to their settings page, on an operator's request. Until the visitors'
 * own management-link e-mail exists (src/core/manage-link.ts), this sends the "already subscribed"
 * e-mail, which carries the same settings link; the worker re-checks the subscriber before sending.
 * The job id comes from the audit entry of the request, so a retried form post sends one e-mail.
 */
export async function sendManagementLink(queues: JobQueues, subscriberId: number, auditEntryId: number): Promise<void> {
  await queues.addEmail({ kind: 'already-subscribed', subscriberId }, `console-manage-${subscriberId}-${auditEntryId}`);
}

import { recordCanarySuccess } from '../src/metrics/canary.ts';
import { messageIdDomain } from '../src/mail/transactional.ts';
import { recordEmailOutcome } from '../src/metrics/metrics.ts';
import { CANARY_SCHEDULER, canarySchedule, upsertSchedule } from '../src/jobs/schedules.ts';
import type { WorkerContext } from './context.ts';

/** Registers the canary schedule when CANARY_EMAIL is set, removes it otherwise. */
export async function scheduleCanary(ctx: WorkerContext): Promise<void> {
  const queue = ctx.queues.maintenance;
  if (!ctx.config.CANARY_EMAIL) {
    await queue.removeJobScheduler(CANARY_SCHEDULER);
    return;
  }
  await upsertSchedule(queue, canarySchedule(ctx.config.CANARY_INTERVAL_MS));
}

/**
 * Sends one test message to CANARY_EMAIL through the same mailer (pool, DKIM, SMTP server) as the
 * notifications; success is recorded in Redis for powiadom_canary_last_success_timestamp_seconds.
 */
export async function sendCanary(ctx: WorkerContext): Promise<{ sentAt: string }> {
  const to = ctx.config.CANARY_EMAIL;
  if (!to) throw new Error('CANARY_EMAIL is not set');
  const now = new Date();
  try {
    await ctx.mailer.send({
      to,
      subject: `Powiadom: test wysyłki ${now.toISOString()}`,
      text: `Wiadomość kontrolna Powiadom (canary), wysłana ${now.toISOString()}. Nie wymaga odpowiedzi.`,
      html: `<p>Wiadomość kontrolna Powiadom (canary), wysłana ${now.toISOString()}. Nie wymaga odpowiedzi.</p>`,
      messageId: `<canary-${now.getTime()}@${messageIdDomain(ctx.config.MAIL_FROM)}>`,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
  } catch (err) {
    recordEmailOutcome('canary', 'failed');
    throw err;
  }
  recordEmailOutcome('canary', 'sent');
  await recordCanarySuccess(ctx.redis, ctx.config.QUEUE_PREFIX, now.getTime());
  return { sentAt: now.toISOString() };
}

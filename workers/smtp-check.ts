import { classifySmtpError, configurationHint, describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordSmtpStatus } from '../src/mail/smtp-status.ts';
import { QUEUE_NAMES } from '../src/jobs/jobs.ts';
import type { WorkerContext } from './context.ts';
import { SendPause } from './send-pause.ts';

/**
 * Checks the SMTP connection at start (EHLO, STARTTLS, AUTH) without holding the start up: the log, /api/stats
 * and powiadom_smtp_problem say what is wrong ("certificate not trusted: set SMTP_TLS_CA_FILE"). A working
 * server lifts a pause left by an earlier run, so sending resumes as soon as fixed settings are deployed.
 * /readyz is not affected: subscriptions are accepted while mail waits.
 */
export async function checkSmtpAtStart(ctx: WorkerContext): Promise<boolean> {
  if (!ctx.config.SMTP_URL) return true;
  const log = ctx.log.child({ smtp: ctx.mailer.destination });
  try {
    await ctx.mailer.verify();
  } catch (err) {
    const failure = classifySmtpError(err);
    const error = describeSmtpError(err);
    if (failure === 'configuration') {
      const hint = configurationHint(err);
      await recordSmtpStatus(ctx.redis, ctx.config.QUEUE_PREFIX, 'configuration', { hint, error });
      log.error({ hint, err: error }, `SMTP server refuses our configuration: ${hint}`);
    } else {
      await recordSmtpStatus(ctx.redis, ctx.config.QUEUE_PREFIX, 'unavailable', { error });
      log.warn({ err: error }, 'SMTP server not reachable at start: e-mail waits until it is');
    }
    return false;
  }
  await new SendPause(ctx.redis, ctx.config.QUEUE_PREFIX, ctx.config.SEND_BACKOFF_MS, async () => undefined, log).lift();
  await recordSmtpStatus(ctx.redis, ctx.config.QUEUE_PREFIX, 'ok');
  log.info({ queue: QUEUE_NAMES.send }, 'SMTP connection verified');
  return true;
}

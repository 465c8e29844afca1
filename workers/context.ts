import type { Redis } from 'ioredis';
import { emailBrand } from '../src/brand/brand.ts';
import type { Deps } from '../src/deps.ts';
import { QueueDeliveryJobs, QueueDigestJobs } from '../src/jobs/jobs.ts';
import type { DigestMail } from '../src/mail/digest-mail.ts';
import type { Mailer } from '../src/mail/mailer.ts';
import type { NotificationMail } from '../src/mail/notification.ts';
import { EmailRenderer } from '../src/mail/render.ts';
import { createSendPath } from '../src/mail/send-path.ts';
import { messageIdDomain, TransactionalMail } from '../src/mail/transactional.ts';
import { createWorkerRedis } from '../src/infra/redis.ts';
import { senderThreadCount } from './sender-threads.ts';

/** What every worker needs: the shared dependencies plus mail sending and a blocking Redis connection. */
export interface WorkerContext extends Deps {
  mailer: Mailer;
  renderer: EmailRenderer;
  transactional: TransactionalMail;
  /** article notifications, built once per (article, language) */
  notifications: NotificationMail;
  /** fan-out and send jobs as the delivery core sees them */
  deliveryJobs: QueueDeliveryJobs;
  /** digests, built once per (sections' new articles, language) */
  digestMail: DigestMail;
  /** digest fan-out and send jobs as the digest core sees them */
  digestJobs: QueueDigestJobs;
  /** connection for BullMQ workers: waits for Redis instead of failing */
  workerRedis: Redis;
}

/** What the send worker needs: a sender thread builds only this. */
export type SendContext = Pick<WorkerContext, 'config' | 'log' | 'pool' | 'notifications' | 'workerRedis' | 'mailer'>;

/** Builds the worker context on top of the shared dependencies; `mailer` may be injected by tests. */
export async function createWorkerContext(deps: Deps, mailer?: Mailer): Promise<WorkerContext> {
  const renderer = await EmailRenderer.create(emailBrand(deps.config));
  // the same send path as a sender thread's, on this process's signer and links
  const { mailer: actualMailer, notifications, digestMail } = createSendPath(deps.config, { renderer, senderThreads: senderThreadCount(deps.config), signing: deps, mailer });
  const transactional = new TransactionalMail(deps.pool, deps.links, renderer, deps.manageLinks, messageIdDomain(deps.config.MAIL_FROM), deps.verp);
  const workerRedis = createWorkerRedis(deps.config.REDIS_URL, deps.log);
  const jobs = { deliveryJobs: new QueueDeliveryJobs(deps.queues), digestJobs: new QueueDigestJobs(deps.queues) };
  return { ...deps, mailer: actualMailer, renderer, transactional, notifications, digestMail, ...jobs, workerRedis };
}

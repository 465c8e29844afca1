import { getArticle, type ArticleRow } from '../db/article-queries.ts';
import * as deliveries from '../db/delivery-queries.ts';
import type { ClaimedDelivery, FinishedDelivery } from '../db/delivery-queries.ts';
import type { Db } from '../db/pool.ts';
import { upsertSuppression } from '../db/suppression-queries.ts';
import { hashEmail } from './email-address.ts';

/** How a failed send is to be handled (see src/mail/smtp-errors.ts). */
export type SendFailure = 'server-unavailable' | 'configuration' | 'transient' | 'unknown-user' | 'permanent';

/** A recipient of a notification. */
export interface Recipient {
  deliveryId: number;
  subscriberId: number;
  email: string;
  lang: string;
  /** version of the subscriber's link tokens (raised to void links already sent) */
  tokenVersion?: number;
}

/** Sends one notification; the mail layer builds the message once per (article, language). */
export interface NotificationSender {
  send(article: ArticleRow, recipient: Recipient): Promise<void>;
  /** Classifies a send error. */
  classify(err: unknown): SendFailure;
}

/** A send batch as the worker sees it. */
export interface BatchRequest {
  articleId: number;
  fromId: number;
  toId: number;
  /** the job id: a retry of the same job may re-claim its deliveries */
  claimer: string;
  /** true on the last allowed attempt: transient failures become final */
  lastAttempt: boolean;
}

/** What a batch did; `deferred` deliveries stay pending for a retry, `unavailable` asks to back off the whole queue. */
export interface BatchOutcome {
  sent: number;
  failed: number;
  suppressed: number;
  deferred: number;
  unavailable: boolean;
  /** set when the server refused our configuration (auth, relaying, sender, TLS): `unavailable` is set too */
  misconfigured?: boolean;
  /** refused messages of this batch by failure class, for one log line per batch */
  refusals?: Partial<Record<SendFailure, number>>;
  lastError?: string;
}

/** Tuning of the send path. */
export interface DeliveryOptions {
  /** messages sent concurrently, and recorded in the ledger together */
  chunkSize: number;
  /** how long a claim keeps other jobs off a delivery */
  claimLeaseSeconds: number;
}

interface Outcome {
  delivery: ClaimedDelivery;
  failure?: SendFailure;
  error?: string;
}

/**
 * Sends the notifications of one batch: claim → re-check → send → record, chunk by chunk, so at most
 * one chunk per running job is sent but unrecorded when the process dies (the duplicate bound).
 */
export class DeliveryService {
  constructor(
    private readonly db: Db,
    private readonly sender: NotificationSender,
    private readonly options: DeliveryOptions,
  ) {}

  /** Processes a batch; throws only on database errors. */
  async sendBatch(request: BatchRequest): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { sent: 0, failed: 0, suppressed: 0, deferred: 0, unavailable: false };
    const article = await getArticle(this.db, request.articleId);
    if (!article) return outcome;
    const claimed = await deliveries.claimDeliveries(this.db, request.articleId, request.fromId, request.toId, request.claimer, this.options.claimLeaseSeconds);
    const blocked = claimed.filter((d) => !d.deliverable);
    await deliveries.markFinished(this.db, blocked.map((d) => ({ id: d.id, status: 'suppressed', reason: 'not deliverable at send time' })));
    outcome.suppressed += blocked.length;
    const ready = claimed.filter((d) => d.deliverable);
    for (let i = 0; i < ready.length; i += this.options.chunkSize) {
      const chunk = ready.slice(i, i + this.options.chunkSize);
      if (outcome.unavailable) {
        outcome.deferred += chunk.length;
        continue;
      }
      const results = await Promise.all(chunk.map((d) => this.sendOne(article, d)));
      await this.record(results, request.lastAttempt, outcome);
    }
    return outcome;
  }

  private async sendOne(article: ArticleRow, d: ClaimedDelivery): Promise<Outcome> {
    const recipient = { deliveryId: d.id, subscriberId: d.subscriber_id!, email: d.email!, lang: d.lang ?? 'pl', tokenVersion: d.token_version ?? 0 };
    try {
      await this.sender.send(article, recipient);
      return { delivery: d };
    } catch (err) {
      return { delivery: d, failure: this.sender.classify(err), error: (err as Error).message ?? String(err) };
    }
  }

  private async record(results: Outcome[], lastAttempt: boolean, outcome: BatchOutcome): Promise<void> {
    const sent = results.filter((r) => !r.failure).map((r) => r.delivery.id);
    const finished: FinishedDelivery[] = [];
    const deferred: { id: number; reason: string }[] = [];
    for (const r of results) {
      if (!r.failure) continue;
      outcome.lastError = r.error;
      const final = r.failure === 'unknown-user' || r.failure === 'permanent' || (r.failure === 'transient' && lastAttempt);
      if (final) finished.push({ id: r.delivery.id, status: 'failed', reason: r.error ?? r.failure });
      else deferred.push({ id: r.delivery.id, reason: r.error ?? r.failure });
      // Errors about the server or about our configuration hold every delivery: none is failed for them.
      if (r.failure === 'server-unavailable' || r.failure === 'configuration') outcome.unavailable = true;
      if (r.failure === 'configuration') outcome.misconfigured = true;
      outcome.refusals = { ...outcome.refusals, [r.failure]: (outcome.refusals?.[r.failure] ?? 0) + 1 };
    }
    await deliveries.markSent(this.db, sent);
    await deliveries.markFinished(this.db, finished);
    await deliveries.noteDeferred(this.db, deferred);
    for (const r of results) {
      if (r.failure === 'unknown-user') await upsertSuppression(this.db, hashEmail(r.delivery.email!), 'hard_bounce', 'SMTP: unknown user');
    }
    outcome.sent += sent.length;
    outcome.failed += finished.length;
    outcome.deferred += deferred.length;
  }
}

import { Batcher } from '../batcher.ts';
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
  /** messages a job sends concurrently (their failures are recorded together) */
  chunkSize: number;
  /** most accepted-but-unrecorded messages per thread before new sends wait for the ledger (default 16) */
  maxUnrecorded?: number;
  /** how long a claim keeps other jobs off a delivery */
  claimLeaseSeconds: number;
}

interface Outcome {
  delivery: ClaimedDelivery;
  failure?: SendFailure;
  error?: string;
}

/** Longest wait of an acceptance for its group commit (16 waiting start one at once). */
const COMMIT_DELAY_MS = 3;

/**
 * Sends the notifications of one batch: claim → re-check → send → record. Each accepted message is
 * recorded as soon as its 250 arrives, by a group commit shared by every job of this thread: one
 * UPDATE at a time, every 3 ms or 16 acceptances, carrying every acceptance that arrived meanwhile. When the
 * process dies, what was sent but not recorded — and is sent again after the restart — is per sending
 * thread at most the SMTP transactions in flight (SMTP_POOL_SIZE) plus `maxUnrecorded` acceptances
 * waiting for their commit (the duplicate bound; docs/delivery-performance.md).
 */
export class DeliveryService {
  private readonly sentLedger: Batcher<number, void>;
  private readonly maxUnrecorded: number;
  /** accepted by the server, not yet committed: what a crash now would send twice */
  private unrecorded = 0;
  private readonly ledgerWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly sender: NotificationSender,
    private readonly options: DeliveryOptions,
  ) {
    this.maxUnrecorded = options.maxUnrecorded ?? 16;
    this.sentLedger = new Batcher((ids: number[]) => this.recordSent(ids), { maxBatch: this.maxUnrecorded, maxInFlight: 1, maxDelayMs: COMMIT_DELAY_MS });
  }

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

  /** Sends one message and, once accepted, waits for its commit; rejects only when the commit fails. */
  private async sendOne(article: ArticleRow, d: ClaimedDelivery): Promise<Outcome> {
    const recipient = { deliveryId: d.id, subscriberId: d.subscriber_id!, email: d.email!, lang: d.lang ?? 'pl', tokenVersion: d.token_version ?? 0 };
    // Backpressure: a slow ledger holds new sends back rather than letting unrecorded acceptances pile up.
    while (this.unrecorded >= this.maxUnrecorded) await new Promise<void>((resolve) => this.ledgerWaiters.push(resolve));
    try {
      await this.sender.send(article, recipient);
    } catch (err) {
      return { delivery: d, failure: this.sender.classify(err), error: (err as Error).message ?? String(err) };
    }
    this.unrecorded += 1;
    await this.sentLedger.submit(d.id);
    return { delivery: d };
  }

  private async recordSent(ids: number[]): Promise<PromiseSettledResult<void>[]> {
    try {
      await deliveries.markSent(this.db, ids);
    } finally {
      this.unrecorded -= ids.length;
      for (const wake of this.ledgerWaiters.splice(0)) wake();
    }
    return ids.map(() => ({ status: 'fulfilled', value: undefined }));
  }

  private async record(results: Outcome[], lastAttempt: boolean, outcome: BatchOutcome): Promise<void> {
    const sent = results.filter((r) => !r.failure).length;
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
    await deliveries.markFinished(this.db, finished);
    await deliveries.noteDeferred(this.db, deferred);
    for (const r of results) {
      if (r.failure === 'unknown-user') await upsertSuppression(this.db, hashEmail(r.delivery.email!), 'hard_bounce', 'SMTP: unknown user');
    }
    outcome.sent += sent;
    outcome.failed += finished.length;
    outcome.deferred += deferred.length;
  }
}

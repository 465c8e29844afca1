import { Batcher } from '../infra/batcher.ts';
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
  /**
   * Sends one message. `admit`, when given, must be awaited just before the SMTP transaction starts (once a
   * connection is free for it): it holds the send back while the duplicate bound is reached.
   */
  send(article: ArticleRow, recipient: Recipient, admit?: () => Promise<void>): Promise<void>;
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
  /** most SMTP transactions started but not yet recorded per thread (in flight, or accepted and awaiting their commit); default 10 */
  maxUnrecorded?: number;
  /** how long a claim keeps other jobs off a delivery */
  claimLeaseSeconds: number;
}

interface Outcome {
  delivery: ClaimedDelivery;
  failure?: SendFailure;
  error?: string;
}

/** Longest wait of an acceptance for its group commit (it starts at once when a send waits for a permit, or `maxUnrecorded` wait). */
const COMMIT_DELAY_MS = 3;
/** Group commits running at once: an acceptance arriving during a commit need not wait for it to finish. */
const COMMITS_IN_FLIGHT = 2;

/**
 * Sends the notifications of one batch: claim → re-check → send → record. Each accepted message is
 * recorded as soon as its 250 arrives, by a group commit shared by every job of this thread (up to two
 * UPDATEs at a time, after 3 ms or at once when a send waits for a permit). The duplicate bound: an SMTP
 * transaction starts only with one of `maxUnrecorded` permits of this thread, taken when the pool hands the
 * send a connection and given back when the message's row is committed (or the send failed). What a
 * process death leaves sent but not recorded — sent again after the restart — is therefore at most
 * `maxUnrecorded` per sending thread; a slow ledger lowers the rate, not the bound
 * (docs/delivery-performance.md).
 */
export class DeliveryService {
  private readonly sentLedger: Batcher<number, void>;
  private readonly maxUnrecorded: number;
  /** permits taken: transactions started, not yet recorded (what a crash now could send twice) */
  private unrecorded = 0;
  /** sends holding a connection, waiting for a permit to start their transaction */
  private readonly permitWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly sender: NotificationSender,
    private readonly options: DeliveryOptions,
  ) {
    this.maxUnrecorded = options.maxUnrecorded ?? 10;
    this.sentLedger = new Batcher((ids: number[]) => this.recordSent(ids), { maxBatch: this.maxUnrecorded, maxInFlight: COMMITS_IN_FLIGHT, maxDelayMs: COMMIT_DELAY_MS });
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
    let admitted = false;
    let settled = false;
    const admit = async (): Promise<void> => {
      await this.takePermit();
      // the send gave up (connection lost) while it waited: the permit is not needed
      if (settled) return this.givePermits(1);
      admitted = true;
    };
    try {
      await this.sender.send(article, recipient, admit);
    } catch (err) {
      settled = true;
      if (admitted) this.givePermits(1);
      return { delivery: d, failure: this.sender.classify(err), error: (err as Error).message ?? String(err) };
    }
    // a sender that does not call `admit` (outside the SMTP path) is not bounded, but is counted alike
    if (!admitted) this.unrecorded += 1;
    await this.sentLedger.submit(d.id);
    return { delivery: d };
  }

  /** Backpressure: resolves once this thread has fewer than `maxUnrecorded` transactions unrecorded. */
  private takePermit(): Promise<void> {
    if (this.unrecorded < this.maxUnrecorded) {
      this.unrecorded += 1;
      return Promise.resolve();
    }
    // every permit is taken: the acceptances waiting for the commit timer are what hold them
    this.sentLedger.hurry();
    return new Promise<void>((resolve) => this.permitWaiters.push(resolve));
  }

  /** Returns permits and hands them, in order, to the sends waiting for one. */
  private givePermits(count: number): void {
    this.unrecorded -= count;
    while (this.unrecorded < this.maxUnrecorded && this.permitWaiters.length > 0) {
      this.unrecorded += 1;
      this.permitWaiters.shift()!();
    }
  }

  private async recordSent(ids: number[]): Promise<PromiseSettledResult<void>[]> {
    try {
      await deliveries.markSent(this.db, ids);
    } finally {
      this.givePermits(ids.length);
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

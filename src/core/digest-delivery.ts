import * as digests from '../db/digest-queries.ts';
import type { ClaimedDigest } from '../db/digest-queries.ts';
import type { Db } from '../db/pool.ts';
import { upsertSuppression } from '../db/suppression-queries.ts';
import { listTopics } from '../db/topic-queries.ts';
import { buildDigestContent, type DigestContent, type DigestRunContext } from './digest-content.ts';
import type { BatchOutcome, DeliveryOptions, SendFailure } from './delivery.ts';
import { hashEmail } from './email-address.ts';

/** A recipient of a digest. */
export interface DigestRecipient {
  deliveryId: number;
  subscriberId: number;
  email: string;
  lang: string;
  /** version of the subscriber's link tokens: links of a revoked version no longer work */
  tokenVersion?: number;
}

/** Sends one digest; the mail layer builds the message once per (content key, language). */
export interface DigestSender {
  send(content: DigestContent, recipient: DigestRecipient): Promise<void>;
  /** Classifies a send error. */
  classify(err: unknown): SendFailure;
}

/** A digest send batch as the worker sees it. */
export interface DigestBatchRequest {
  runId: number;
  fromId: number;
  toId: number;
  /** the job id: a retry of the same job may re-claim its deliveries */
  claimer: string;
  /** true on the last allowed attempt: transient failures become final */
  lastAttempt: boolean;
}

interface Outcome {
  delivery: ClaimedDigest;
  failure?: SendFailure;
  error?: string;
}

/**
 * Sends the digests of one batch with the notifications' design: claim → re-check (active, still on the
 * run's frequency, not suppressed, something new) → send → record, chunk by chunk, so at most one chunk
 * per running job is sent but unrecorded when the process dies.
 */
export class DigestDeliveryService {
  constructor(
    private readonly db: Db,
    private readonly sender: DigestSender,
    private readonly options: DeliveryOptions,
  ) {}

  /** Processes a batch; throws only on database errors. */
  async sendBatch(request: DigestBatchRequest): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { sent: 0, failed: 0, suppressed: 0, deferred: 0, unavailable: false };
    const run = await this.loadRun(request.runId);
    if (!run) return outcome;
    const claimed = await digests.claimDigestDeliveries(this.db, request.runId, request.fromId, request.toId, request.claimer, this.options.claimLeaseSeconds);
    const ready: { delivery: ClaimedDigest; content: DigestContent }[] = [];
    const blocked: { id: number; status: 'suppressed'; reason: string }[] = [];
    for (const d of claimed) {
      const content = d.deliverable ? buildDigestContent(run, { topics: d.topics, since: d.since }) : null;
      if (content) ready.push({ delivery: d, content });
      else blocked.push({ id: d.id, status: 'suppressed', reason: d.deliverable ? 'nothing new at send time' : 'not deliverable at send time' });
    }
    await digests.markDigestFinished(this.db, blocked);
    outcome.suppressed += blocked.length;
    for (let i = 0; i < ready.length; i += this.options.chunkSize) {
      const chunk = ready.slice(i, i + this.options.chunkSize);
      if (outcome.unavailable) {
        outcome.deferred += chunk.length;
        continue;
      }
      const results = await Promise.all(chunk.map((r) => this.sendOne(r.content, r.delivery)));
      await this.record(results, request.lastAttempt, outcome);
    }
    return outcome;
  }

  private async loadRun(runId: number): Promise<DigestRunContext | null> {
    const run = await digests.getDigestRun(this.db, runId);
    if (!run) return null;
    const [articles, topics] = await Promise.all([digests.listDigestRunArticles(this.db, runId), listTopics(this.db)]);
    return { runId, frequency: run.frequency, periodEnd: run.period_end, articles, topics };
  }

  private async sendOne(content: DigestContent, d: ClaimedDigest): Promise<Outcome> {
    const recipient = { deliveryId: d.id, subscriberId: d.subscriber_id!, email: d.email!, lang: d.lang ?? 'pl', tokenVersion: d.token_version ?? 0 };
    try {
      await this.sender.send(content, recipient);
      return { delivery: d };
    } catch (err) {
      return { delivery: d, failure: this.sender.classify(err), error: (err as Error).message ?? String(err) };
    }
  }

  private async record(results: Outcome[], lastAttempt: boolean, outcome: BatchOutcome): Promise<void> {
    const sent = results.filter((r) => !r.failure).map((r) => r.delivery.id);
    const finished: { id: number; status: 'failed'; reason: string }[] = [];
    const deferred: { id: number; reason: string }[] = [];
    for (const r of results) {
      if (!r.failure) continue;
      outcome.lastError = r.error;
      const final = r.failure === 'unknown-user' || r.failure === 'permanent' || (r.failure === 'transient' && lastAttempt);
      if (final) finished.push({ id: r.delivery.id, status: 'failed', reason: r.error ?? r.failure });
      else deferred.push({ id: r.delivery.id, reason: r.error ?? r.failure });
      if (r.failure === 'server-unavailable') outcome.unavailable = true;
    }
    await digests.markDigestSent(this.db, sent);
    await digests.markDigestFinished(this.db, finished);
    await digests.noteDigestDeferred(this.db, deferred);
    for (const r of results) {
      if (r.failure === 'unknown-user') await upsertSuppression(this.db, hashEmail(r.delivery.email!), 'hard_bounce', 'SMTP: unknown user');
    }
    outcome.sent += sent.length;
    outcome.failed += finished.length;
    outcome.deferred += deferred.length;
  }
}

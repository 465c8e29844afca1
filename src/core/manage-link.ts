import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import * as requests from '../db/manage-link-queries.ts';
import { normalizeEmail } from './email-address.ts';

/** The queue work a management-link request causes; implemented over the e-mail queue. */
export interface ManageLinkJobs {
  queueManageLink(requestId: number): Promise<void>;
}

/** What the e-mail worker should do with a request: send to a subscriber, or nothing (and why). */
export type ManageLinkDecision = { send: { subscriberId: number; lang: 'pl' | 'en' } } | { skip: string };

/** How long a request row (its address cleared once resolved) is kept. */
export const MANAGE_LINK_REQUEST_KEEP_HOURS = 24;

/**
 * "Send me my management link" (GOV.UK's /email/manage). A request costs the HTTP side one INSERT and
 * one queued job, the same for a known and an unknown address, so neither the answer nor its timing
 * tells who is subscribed. The worker then looks the address up and claims a slot of the same
 * per-address daily cap the confirmation e-mails use (CONFIRMATIONS_PER_DAY).
 */
export class ManageLinkService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly jobs: ManageLinkJobs,
    private readonly confirmationsPerDay: number,
  ) {}

  /** A visitor asks for the link of an address (any status: pending, active, unsubscribed). */
  async requestForAddress(email: string, lang: 'pl' | 'en'): Promise<void> {
    const id = await requests.insertManageLinkRequest(this.pool, { email: normalizeEmail(email) }, lang);
    await this.jobs.queueManageLink(id);
  }

  /** An operator sends the link to a known subscriber of any status (the console), in their language; counted in the same cap. */
  async requestForSubscriber(subscriberId: number, lang: 'pl' | 'en'): Promise<void> {
    const id = await requests.insertManageLinkRequest(this.pool, { subscriberId }, lang);
    await this.jobs.queueManageLink(id);
  }

  /**
   * Resolves a request once (a retried job gets the same decision and claims no second slot): finds
   * the subscriber, claims a slot of the cap, clears the stored address.
   */
  async resolve(requestId: number): Promise<ManageLinkDecision> {
    return withTransaction(this.pool, async (tx) => {
      const row = await requests.lockManageLinkRequest(tx, requestId);
      if (!row) return { skip: 'request expired' };
      if (row.outcome !== null) return decisionOf(row.outcome, row.subscriber_id, row.lang);
      const subscriberId = row.subscriber_id ?? (row.email === null ? null : await requests.findSubscriberIdByEmail(tx, row.email));
      const outcome = subscriberId === null ? 'unknown' : (await requests.claimConfirmationSlot(tx, subscriberId, this.confirmationsPerDay)) ? 'send' : 'capped';
      await requests.resolveManageLinkRequest(tx, requestId, outcome, subscriberId);
      return decisionOf(outcome, subscriberId, row.lang);
    });
  }

  /** Deletes request rows older than MANAGE_LINK_REQUEST_KEEP_HOURS; returns how many. */
  async deleteOldRequests(): Promise<number> {
    return requests.deleteOldManageLinkRequests(this.pool, MANAGE_LINK_REQUEST_KEEP_HOURS);
  }
}

function decisionOf(outcome: requests.ManageLinkOutcome, subscriberId: number | null, lang: string): ManageLinkDecision {
  if (outcome === 'send' && subscriberId !== null) return { send: { subscriberId, lang: lang === 'en' ? 'en' : 'pl' } };
  return { skip: outcome === 'unknown' ? 'address not subscribed' : `request ${outcome}` };
}

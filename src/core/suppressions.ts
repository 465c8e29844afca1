import type { Db } from '../db/pool.ts';
import * as queries from '../db/suppression-queries.ts';
import type { Suppression, SuppressionReason } from '../db/suppression-queries.ts';
import { maskEmail, type Logger } from '../log.ts';
import { hashEmail } from './email-address.ts';

/** Bounce classes a mail provider reports through the bounce webhook. */
export type BounceType = 'hard' | 'soft' | 'complaint';

/** Reasons an operator may give for a manual suppression ('erased' belongs to erasure only). */
export const OPERATOR_REASONS = ['manual', 'hard_bounce', 'complaint'] as const;

/** A reason an operator may give. */
export type OperatorReason = (typeof OPERATOR_REASONS)[number];

/** What a reported bounce did. */
export interface BounceOutcome {
  emailHash: string;
  type: BounceType;
  /** true when the address is now suppressed because of this report */
  suppressed: boolean;
  suppression: Suppression | null;
}

const BOUNCE_REASON: Record<BounceType, SuppressionReason | null> = {
  hard: 'hard_bounce',
  complaint: 'complaint',
  // A soft bounce (mailbox full, greylisting) is transient: logged, never suppressed.
  soft: null,
};

// An address is either given in full or as the 64-hex SHA-256 the list shows.
const HASH = /^[0-9a-f]{64}$/;

/** The hash an operator means: the 64-hex hash itself, or the hash of an address. */
export function suppressionKey(emailOrHash: string): string {
  const value = emailOrHash.trim().toLowerCase();
  return HASH.test(value) ? value : hashEmail(value);
}

/** The hashed suppression list: bounces, complaints and operators' manual entries. */
export class SuppressionService {
  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Applies a bounce or complaint report: hard and complaint suppress, soft is only logged. */
  async recordBounce(email: string, type: BounceType): Promise<BounceOutcome> {
    const emailHash = hashEmail(email);
    const reason = BOUNCE_REASON[type];
    this.log.info({ to: maskEmail(email), type, suppress: reason !== null }, 'bounce reported');
    if (reason === null) return { emailHash, type, suppressed: false, suppression: await queries.getSuppression(this.db, emailHash) };
    await queries.upsertSuppression(this.db, emailHash, reason, `bounce webhook: ${type}`);
    return { emailHash, type, suppressed: true, suppression: await queries.getSuppression(this.db, emailHash) };
  }

  /** Suppresses an address by hand; `created` is false when an entry existed and was replaced. */
  async suppress(email: string, reason: OperatorReason, note: string | null): Promise<{ suppression: Suppression; created: boolean }> {
    const emailHash = hashEmail(email);
    const existed = (await queries.getSuppression(this.db, emailHash)) !== null;
    await queries.upsertSuppression(this.db, emailHash, reason, note);
    this.log.info({ to: maskEmail(email), reason }, 'address suppressed by an operator');
    return { suppression: (await queries.getSuppression(this.db, emailHash))!, created: !existed };
  }

  /** Lifts the suppression of an address (or of a hash from the list); false when there was none. */
  async lift(emailOrHash: string): Promise<boolean> {
    const lifted = await queries.deleteSuppression(this.db, suppressionKey(emailOrHash));
    if (lifted) this.log.info({ emailHash: suppressionKey(emailOrHash) }, 'suppression lifted by an operator');
    return lifted;
  }

  /** The suppression of one address, or null. */
  async lookup(email: string): Promise<Suppression | null> {
    return queries.getSuppression(this.db, hashEmail(email));
  }

  /** A page of the list, newest first. */
  async list(limit: number, offset: number): Promise<Suppression[]> {
    return queries.listSuppressions(this.db, limit, offset);
  }
}

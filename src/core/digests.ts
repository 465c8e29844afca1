import type pg from 'pg';
import * as digests from '../db/digest-queries.ts';
import type { DigestCounts, DigestFrequency, DigestRunRow, NewDigestRun } from '../db/digest-queries.ts';
import { withTransaction } from '../db/pool.ts';
import { dueSlot, type DigestSchedule } from './digest-schedule.ts';

/** Articles older than this are never put into a first run (a fresh install does not mail its history). */
const ASSIGN_WINDOW_DAYS = 35;

/** Where a new run's fan-out goes: implemented with BullMQ (deterministic job id). */
export interface DigestJobs {
  queueDigestFanout(runId: number): Promise<void>;
}

/** A run with its ledger counts, as the API shows it. */
export interface DigestRunView {
  run: DigestRunRow;
  delivery: DigestCounts;
}

/** What creating a run did: the run, and false when the slot had one already. */
export interface DigestRunCreation {
  run: DigestRunRow;
  created: boolean;
}

/**
 * Digest runs: the scheduler's ticks and operators create them. A run takes every article no earlier run of
 * its frequency took (so no article is in two periods, and one committed during a run's creation is in this
 * run or the next), then its fan-out writes one ledger row per subscriber with something new.
 */
export class DigestService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly jobs: DigestJobs,
    private readonly schedule: DigestSchedule,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Creates the run of the slot due now unless it exists (idempotent: one run per slot). With `catchUp`
   * (the reconciler's check) only when the schedule has fired before, so a missed firing is made up for
   * but a fresh installation waits for its first scheduled time.
   */
  async runDue(frequency: DigestFrequency, options: { catchUp?: boolean } = {}): Promise<DigestRunCreation | null> {
    const due = dueSlot(frequency, this.schedule, this.clock());
    if (options.catchUp) {
      const last = await digests.lastScheduledDigestRun(this.pool, frequency);
      if (!last || (last.slot ?? '') >= due.slot) return null;
    }
    return this.create({ frequency, slot: due.slot, scheduledFor: due.scheduledFor, trigger: 'schedule' });
  }

  /** An operator's run: everything since the previous run's period end, now. */
  async runNow(frequency: DigestFrequency): Promise<DigestRunRow> {
    return (await this.create({ frequency, slot: null, scheduledFor: null, trigger: 'manual' })).run;
  }

  private async create(newRun: NewDigestRun): Promise<DigestRunCreation> {
    const creation = await withTransaction(this.pool, async (tx) => {
      await digests.lockDigestFrequency(tx, newRun.frequency);
      const existing = newRun.slot ? await digests.getDigestRunBySlot(tx, newRun.frequency, newRun.slot) : null;
      if (existing) return { run: existing, created: false };
      const run = (await digests.insertDigestRun(tx, newRun))!;
      run.articles = await digests.assignDigestArticles(tx, run.id, newRun.frequency, ASSIGN_WINDOW_DAYS);
      return { run, created: true };
    });
    // A crash before this line leaves a pending fan-out: the reconciler queues it.
    if (creation.created) await this.jobs.queueDigestFanout(creation.run.id);
    return creation;
  }

  /** One run with its delivery counts, or null. */
  async get(id: number): Promise<DigestRunView | null> {
    const run = await digests.getDigestRun(this.pool, id);
    if (!run) return null;
    return { run, delivery: await digests.countDigestDeliveries(this.pool, id) };
  }

  /** Recent runs, newest first, with their delivery counts. */
  async list(limit = 20): Promise<DigestRunView[]> {
    const runs = await digests.listDigestRuns(this.pool, limit);
    return Promise.all(runs.map(async (run) => ({ run, delivery: await digests.countDigestDeliveries(this.pool, run.id) })));
  }
}

import type { ReconcileOptions } from '../src/core/reconcile.ts';
import { sendThrottle } from '../src/jobs/jobs.ts';
import type { WorkerContext } from './context.ts';

/** Messages a send job has under way at once (they wait for the SMTP pool's connections); each is recorded on its own 250, by group commit. */
export const SEND_CHUNK = 50;
/** How long a claim keeps other send jobs off a delivery: well above a batch's sending time. */
export const CLAIM_LEASE_SECONDS = 300;
/** The largest page a fan-out writes in one statement. */
export const MAX_FANOUT_PAGE = 5000;

/** Send batch size after SEND_RATE, and the reconciler's options. */
export function deliveryOptions(ctx: WorkerContext): ReconcileOptions {
  return {
    batchSize: sendThrottle(ctx.config.SEND_RATE, ctx.config.SEND_BATCH_SIZE).batchSize,
    claimLeaseSeconds: CLAIM_LEASE_SECONDS,
    minAgeSeconds: 2,
  };
}

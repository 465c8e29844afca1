import type pg from 'pg';
import type { Config } from '../config.ts';
import type { InboundService } from '../core/inbound.ts';
import type { VerpAddresses } from '../core/verp.ts';
import { recordMailboxPoll } from '../db/inbound-queries.ts';
import type { Logger } from '../log.ts';
import { ImapPoller, type ImapPollerHooks } from './imap-poller.ts';
import { markPollerStarted, observePoll } from './inbound-metrics.ts';

/** What starting the poller needs. */
export interface PollerDeps {
  config: Config;
  pool: pg.Pool;
  log: Logger;
  inbound: InboundService;
  verp: VerpAddresses | null;
}

/** Starts reading INBOUND_IMAP_URL when set; each pass lands in the gauges and inbound_mailbox_status. */
export function startImapPoller(deps: PollerDeps, hooks: ImapPollerHooks = {}): ImapPoller | null {
  const { config, pool, log } = deps;
  if (!config.INBOUND_IMAP_URL) return null;
  const settings = {
    url: config.INBOUND_IMAP_URL,
    pollIntervalMs: config.INBOUND_POLL_INTERVAL_MS,
    doneFolder: config.INBOUND_DONE_FOLDER,
    unknownFolder: config.INBOUND_UNKNOWN_FOLDER,
  };
  const poller = new ImapPoller(settings, deps.inbound, deps.verp, log.child({ component: 'imap' }), {
    ...hooks,
    onPoll: (report) => {
      observePoll(report);
      recordMailboxPoll(pool, 'imap', report.ok, report.error?.slice(0, 500) ?? null).catch((err: Error) => log.warn({ err: err.message }, 'mailbox status not recorded'));
      hooks.onPoll?.(report);
    },
  });
  markPollerStarted();
  poller.start();
  return poller;
}

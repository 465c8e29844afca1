import { Counter, Gauge } from 'prom-client';
import type { InboundObserver } from '../core/inbound.ts';
import { registry } from '../metrics/metrics.ts';
import type { PollReport } from './imap-poller.ts';

const messages = new Counter({
  name: 'powiadom_inbound_messages_total',
  help: 'Inbound messages and webhook events by kind (bounce, complaint, unsubscribe, auto_reply, unknown) and outcome (per process)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});
const lastPoll = new Gauge({
  name: 'powiadom_inbound_last_poll_timestamp_seconds',
  help: 'When this process last tried to read the bounce mailbox (unix seconds)',
  registers: [registry],
});
const lastSuccess = new Gauge({
  name: 'powiadom_inbound_last_success_timestamp_seconds',
  help: 'When this process last read the bounce mailbox without error (unix seconds; set to the start time when the poller starts)',
  registers: [registry],
});
const pollFailing = new Gauge({
  name: 'powiadom_inbound_poll_failing',
  help: '1 while the last attempt to read the bounce mailbox failed, else 0',
  registers: [registry],
});

/** Counts one processed inbound message. */
export const countInbound: InboundObserver = (kind, outcome) => messages.inc({ kind, outcome });

/** Marks the poller's start: the 30-minute alert counts from here until the first pass. */
export function markPollerStarted(now = Date.now()): void {
  lastSuccess.set(now / 1000);
  pollFailing.set(0);
}

/** Records one pass over the mailbox in the gauges. */
export function observePoll(report: PollReport): void {
  lastPoll.set(report.at.getTime() / 1000);
  if (report.ok) lastSuccess.set(report.at.getTime() / 1000);
  pollFailing.set(report.ok ? 0 : 1);
}

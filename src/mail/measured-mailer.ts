import { recordSmtpFailure } from '../metrics/metrics.ts';
import type { Mailer, OutgoingMessage, RawMessage } from './mailer.ts';
import { maskSmtpError } from './mask-addresses.ts';
import { classifySmtpError } from './smtp-errors.ts';

/**
 * Wraps a mailer so every refused send counts its failure's class and leaves here with every address in it
 * masked: relays quote the recipient, and the error is then logged, stored in the ledger and kept by BullMQ.
 * Latency is measured by the SMTP mailer itself: for notifications the SMTP transaction and the wait for a
 * pooled connection apart.
 */
export function measuredMailer(inner: Mailer): Mailer {
  const measure = async (send: () => Promise<void>): Promise<void> => {
    try {
      await send();
    } catch (err) {
      recordSmtpFailure(classifySmtpError(err));
      throw maskSmtpError(err);
    }
  };
  return {
    send: (message: OutgoingMessage) => measure(() => inner.send(message)),
    sendRaw: (message: RawMessage) => measure(() => inner.sendRaw(message)),
    get destination() {
      return inner.destination;
    },
    get from() {
      return inner.from;
    },
    verify: () => inner.verify(),
    abortWaiting: (err: unknown) => inner.abortWaiting?.(err),
    close: () => inner.close(),
  };
}

import { recordSmtpFailure } from '../metrics.ts';
import type { Mailer, OutgoingMessage, RawMessage } from './mailer.ts';
import { classifySmtpError } from './smtp-errors.ts';

/**
 * Wraps a mailer so every refused send counts its failure's class. Latency is measured by the SMTP mailer
 * itself: for notifications the SMTP transaction and the wait for a pooled connection apart.
 */
export function measuredMailer(inner: Mailer): Mailer {
  const measure = async (send: () => Promise<void>): Promise<void> => {
    try {
      await send();
    } catch (err) {
      recordSmtpFailure(classifySmtpError(err));
      throw err;
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

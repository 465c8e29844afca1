import { recordSmtpFailure, timeSmtpSend } from '../metrics.ts';
import type { Mailer, OutgoingMessage, RawMessage } from './mailer.ts';
import { classifySmtpError } from './smtp-errors.ts';

/** Wraps a mailer so every send records its SMTP latency and, when refused, the failure's class. */
export function measuredMailer(inner: Mailer): Mailer {
  const measure = async (send: () => Promise<void>): Promise<void> => {
    try {
      await timeSmtpSend(send);
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
    close: () => inner.close(),
  };
}

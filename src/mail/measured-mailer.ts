import { recordSmtpFailure, timeSmtpSend } from '../metrics.ts';
import type { Mailer, OutgoingMessage, RawMessage } from './mailer.ts';
import { maskSmtpError } from './mask-addresses.ts';
import { classifySmtpError } from './smtp-errors.ts';

/**
 * Wraps a mailer so every send records its SMTP latency and, when refused, the failure's class. A refusal
 * leaves here with every address in it masked: relays quote the recipient, and the error is then logged,
 * stored in the ledger and kept by BullMQ.
 */
export function measuredMailer(inner: Mailer): Mailer {
  const measure = async (send: () => Promise<void>): Promise<void> => {
    try {
      await timeSmtpSend(send);
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
    close: () => inner.close(),
  };
}

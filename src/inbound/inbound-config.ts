import type { Config } from '../config.ts';
import { VerpAddresses } from '../core/verp.ts';

/** VERP envelope senders when BOUNCE_ADDRESS is set, else null (envelope sender = MAIL_FROM). */
export function createVerp(config: Config): VerpAddresses | null {
  return config.BOUNCE_ADDRESS ? new VerpAddresses(config.BOUNCE_ADDRESS, config.SECRET) : null;
}

/** True when something reads the mailbox mail comes back to, so a mailto: unsubscribe is honoured. */
export function isInboundMailConfigured(config: Config): boolean {
  return config.INBOUND_IMAP_URL !== undefined;
}

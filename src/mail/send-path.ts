import type { Config } from '../config.ts';
import { Links } from '../core/links.ts';
import { TokenSigner } from '../core/tokens.ts';
import { DigestMail } from './digest-mail.ts';
import { connectionShare, createMailer, type Mailer } from './mailer.ts';
import { measuredMailer } from './measured-mailer.ts';
import { NotificationMail, notificationIdentity } from './notification.ts';
import type { EmailRenderer } from './render.ts';

/** The token signer and the links built on it: the same in the API, the workers and the sender threads. */
export interface Signing {
  signer: TokenSigner;
  links: Links;
}

/** Everything that sends article notifications and digests, wired once for every process kind. */
export interface SendPath extends Signing {
  /** the SMTP (or outbox) mailer, measured for powiadom_smtp_* metrics */
  mailer: Mailer;
  /** article notifications, built once per (article, language) */
  notifications: NotificationMail;
  /** digests, built once per (sections' new articles, language) */
  digestMail: DigestMail;
}

/** The signer of SECRET and the links of PUBLIC_URL (confirmation links live CONFIRM_TOKEN_TTL_DAYS). */
export function createSigning(config: Config): Signing {
  const signer = new TokenSigner(config.SECRET);
  return { signer, links: new Links(config.PUBLIC_URL, signer, config.CONFIRM_TOKEN_TTL_DAYS * 86_400) };
}

/**
 * Builds the send path of a process (src/deps.ts → workers/context.ts, or a sender thread): one mailer taking
 * its share of SMTP_MAX_CONNECTIONS among `senderThreads` threads + the process, and the notification and
 * digest mail on it. `signing` reuses the process's signer and links; `mailer` (tests) replaces the SMTP one.
 */
export function createSendPath(
  config: Config,
  options: { renderer: EmailRenderer; senderThreads: number; signing?: Signing; mailer?: Mailer | undefined },
): SendPath {
  const { signer, links } = options.signing ?? createSigning(config);
  const mailer = measuredMailer(options.mailer ?? createMailer(config, connectionShare(config, options.senderThreads)));
  const identity = notificationIdentity(config);
  return {
    signer,
    links,
    mailer,
    notifications: new NotificationMail(options.renderer, links, signer, mailer, identity),
    digestMail: new DigestMail(options.renderer, links, signer, mailer, identity),
  };
}

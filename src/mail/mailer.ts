import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type SendMailOptions, type Transporter, type TransportOptions } from 'nodemailer';
import type { Config } from '../config.ts';
import { observeSmtpLatency, observeSmtpWait, recordPoolLimitLowered, timeSmtpSend } from '../metrics/metrics.ts';
import { createDkimSigner, type DkimSigner } from './dkim-signer.ts';
import { FilledMessage, mailboxAddress } from './mime-template.ts';
import { RawSmtpPool } from './raw-smtp-pool.ts';
import { smtpOptions, type SmtpOptions } from './smtp-options.ts';

/** One message to one recipient. */
export interface OutgoingMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Deterministic Message-ID, e.g. "<confirm-12-1@powiadom.example>" */
  messageId: string;
  headers?: Record<string, string>;
  /** SMTP envelope sender (a VERP bounce address); unset = the From address */
  envelopeFrom?: string;
  /** Becomes List-Unsubscribe (+ List-Unsubscribe-Post one-click) when set. */
  listUnsubscribe?: { url: string; mail?: string };
}

/** A prebuilt RFC 5322 message and its SMTP envelope. */
export interface RawMessage {
  from: string;
  to: string;
  raw: string | Buffer | FilledMessage;
  /** awaited after the server's 354 to DATA, before the message's bytes leave: the sender's bound on unrecorded messages */
  admit?: () => Promise<void>;
}

/** The message's bytes, for the paths that keep them. */
function rawBytes(raw: RawMessage['raw']): string | Buffer {
  return raw instanceof FilledMessage ? raw.toBuffer() : raw;
}

/** Sends e-mail; the only thing workers know about delivery. */
export interface Mailer {
  /** Composes and sends one message. */
  send(message: OutgoingMessage): Promise<void>;
  /** Sends an already-built MIME message as is (the notification fast path). */
  sendRaw(message: RawMessage): Promise<void>;
  /** Where mail goes: "smtp://host:port" or the outbox folder. */
  readonly destination: string;
  /** The From address used for every message. */
  readonly from: string;
  /** Opens a fresh connection (EHLO, STARTTLS, AUTH) and closes it; rejects with the reason it could not. */
  verify(): Promise<void>;
  /** Fails the notifications waiting for a connection with `err` and retires the open ones (see RawSmtpPool.abort). */
  abortWaiting?(err: unknown): void;
  close(): Promise<void>;
}

/** How a process's SMTP connections are shared out (see connectionShare). */
export interface ConnectionShare {
  /** connections of this process's (or thread's) notification pool */
  notifications: number;
  /** connections of the transactional transport: confirmations and links never wait behind a fan-out */
  transactional: number;
}

/**
 * Splits SMTP_MAX_CONNECTIONS of one worker process: one connection kept for transactional e-mail, the
 * rest shared by the notification pools of the process and its `senderThreads` threads. Without
 * SMTP_MAX_CONNECTIONS every pool has SMTP_POOL_SIZE connections.
 */
export function connectionShare(config: Pick<Config, 'SMTP_MAX_CONNECTIONS' | 'SMTP_POOL_SIZE'>, senderThreads: number): ConnectionShare {
  const max = config.SMTP_MAX_CONNECTIONS;
  if (!max) return { notifications: config.SMTP_POOL_SIZE, transactional: config.SMTP_POOL_SIZE };
  const pools = senderThreads + 1;
  return { notifications: Math.max(1, Math.floor((max - 1) / pools)), transactional: 1 };
}

function toMailOptions(from: string, replyTo: string | undefined, message: OutgoingMessage): SendMailOptions {
  return {
    from,
    to: message.to,
    replyTo,
    subject: message.subject,
    html: message.html,
    text: message.text,
    messageId: message.messageId,
    envelope: message.envelopeFrom ? { from: message.envelopeFrom, to: [message.to] } : undefined,
    headers: message.listUnsubscribe ? { ...message.headers, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : message.headers,
    list: message.listUnsubscribe
      ? { unsubscribe: [message.listUnsubscribe.url, ...(message.listUnsubscribe.mail ? [`mailto:${message.listUnsubscribe.mail}`] : [])] }
      : undefined,
  };
}

/** nodemailer's composer (List-* headers, encodings) with CRLF line ends, so what we sign is what is sent. */
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' } as TransportOptions);

/** Composes a message, unsigned. */
async function compose(from: string, replyTo: string | undefined, message: OutgoingMessage): Promise<Buffer> {
  return ((await composer.sendMail(toMailOptions(from, replyTo, message))) as { message: Buffer }).message;
}

class SmtpMailer implements Mailer {
  readonly destination: string;
  /** transactional e-mails, composed and signed here, go through nodemailer's pooled transport as raw messages */
  private readonly transport: Transporter;
  /** prebuilt notifications go over plain nodemailer connections, signed in this thread when DKIM is on */
  private readonly rawPool: RawSmtpPool;

  constructor(
    readonly from: string,
    private readonly replyTo: string | undefined,
    smtp: SmtpOptions,
    share: ConnectionShare,
    idleTimeoutMs: number,
    private readonly dkim: DkimSigner | null,
  ) {
    this.destination = `${smtp.secure ? 'smtps' : 'smtp'}://${smtp.host}:${smtp.port}`;
    // One connection configuration for both paths: TLS trust, STARTTLS policy, AUTH and HELO never disagree.
    this.transport = nodemailer.createTransport({
      ...smtp,
      pool: true,
      maxConnections: share.transactional,
      maxMessages: Infinity,
      idleTimeout: idleTimeoutMs,
    } as TransportOptions);
    const poolOptions = { idleTimeoutMs, onWait: observeSmtpWait, onTransaction: observeSmtpLatency, onLimitLowered: recordPoolLimitLowered };
    this.rawPool = new RawSmtpPool(smtp, share.notifications, smtp.socketTimeout, poolOptions);
  }

  async verify(): Promise<void> {
    await this.transport.verify();
  }

  abortWaiting(err: unknown): void {
    this.rawPool.abort(err);
  }

  async send(message: OutgoingMessage): Promise<void> {
    const composed = await compose(this.from, this.replyTo, message);
    const raw = this.dkim ? this.dkim.sign(composed) : composed;
    const envelope = { from: message.envelopeFrom ?? mailboxAddress(this.from), to: [message.to] };
    await timeSmtpSend(() => this.transport.sendMail({ envelope, raw }));
  }

  async sendRaw(message: RawMessage): Promise<void> {
    await this.rawPool.send(message.from, message.to, this.dkim ? this.dkim.sign(message.raw) : message.raw, message.admit);
  }

  async close(): Promise<void> {
    this.transport.close();
    this.rawPool.close();
  }
}

/** Writes each message as an .eml file: the development default when SMTP_URL is unset. */
class OutboxMailer implements Mailer {
  constructor(
    readonly from: string,
    private readonly replyTo: string | undefined,
    readonly destination: string,
    private readonly dkim: DkimSigner | null,
  ) {}

  async send(message: OutgoingMessage): Promise<void> {
    const composed = await compose(this.from, this.replyTo, message);
    await this.write(message.messageId, this.dkim ? rawBytes(this.dkim.sign(composed)) : composed);
  }

  async sendRaw(message: RawMessage): Promise<void> {
    const raw = rawBytes(this.dkim ? this.dkim.sign(message.raw) : message.raw);
    await message.admit?.();
    const id = /^Message-ID:\s*<([^>]+)>/im.exec(raw.toString())?.[1] ?? `${Date.now()}`;
    await this.write(id, raw);
  }

  async verify(): Promise<void> {}

  async close(): Promise<void> {}

  private async write(messageId: string, content: string | Buffer): Promise<void> {
    await mkdir(this.destination, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${messageId.replace(/[^\w.-]+/g, '_')}.eml`;
    await writeFile(path.join(this.destination, name), content);
  }
}

/** SMTP (pooled) when SMTP_URL is set, else the local outbox folder; `share` from connectionShare. */
export function createMailer(config: Config, share: ConnectionShare = connectionShare(config, 0)): Mailer {
  const dkim = createDkimSigner(config);
  if (config.SMTP_URL) {
    const smtp = smtpOptions({ ...config, SMTP_URL: config.SMTP_URL });
    return new SmtpMailer(config.MAIL_FROM, config.MAIL_REPLY_TO, smtp, share, config.SMTP_IDLE_TIMEOUT_MS, dkim);
  }
  return new OutboxMailer(config.MAIL_FROM, config.MAIL_REPLY_TO, path.resolve(config.OUTBOX_DIR), dkim);
}

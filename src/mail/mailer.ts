import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type SendMailOptions, type Transporter, type TransportOptions } from 'nodemailer';
import type { Config } from '../config.ts';
import { createDkimSigner, type DkimSigner } from './dkim-signer.ts';
import { FilledMessage, mailboxAddress } from './mime-template.ts';
import { RawSmtpPool } from './raw-smtp-pool.ts';

/** One message to one recipient. */
export interface OutgoingMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Deterministic Message-ID, e.g. "<confirm-12-1@powiadom.example>" */
  messageId: string;
  headers?: Record<string, string>;
  /** Becomes List-Unsubscribe (+ List-Unsubscribe-Post one-click) when set. */
  listUnsubscribe?: { url: string; mail?: string };
}

/** A prebuilt RFC 5322 message and its SMTP envelope. */
export interface RawMessage {
  from: string;
  to: string;
  raw: string | Buffer | FilledMessage;
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
  close(): Promise<void>;
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
    smtpUrl: string,
    poolSize: number,
    timeoutMs: number,
    private readonly dkim: DkimSigner | null,
  ) {
    const url = new URL(smtpUrl);
    this.destination = `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`;
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: poolSize,
      maxMessages: Infinity,
      connectionTimeout: Math.min(10_000, timeoutMs),
      greetingTimeout: Math.min(10_000, timeoutMs),
      socketTimeout: timeoutMs,
    } as TransportOptions);
    this.rawPool = new RawSmtpPool(url, poolSize, timeoutMs);
  }

  async send(message: OutgoingMessage): Promise<void> {
    const composed = await compose(this.from, this.replyTo, message);
    const raw = this.dkim ? this.dkim.sign(composed) : composed;
    await this.transport.sendMail({ envelope: { from: mailboxAddress(this.from), to: [message.to] }, raw });
  }

  async sendRaw(message: RawMessage): Promise<void> {
    await this.rawPool.send(message.from, message.to, this.dkim ? this.dkim.sign(message.raw) : message.raw);
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
    const id = /^Message-ID:\s*<([^>]+)>/im.exec(raw.toString())?.[1] ?? `${Date.now()}`;
    await this.write(id, raw);
  }

  async close(): Promise<void> {}

  private async write(messageId: string, content: string | Buffer): Promise<void> {
    await mkdir(this.destination, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${messageId.replace(/[^\w.-]+/g, '_')}.eml`;
    await writeFile(path.join(this.destination, name), content);
  }
}

/** SMTP (pooled) when SMTP_URL is set, else the local outbox folder. */
export function createMailer(config: Config): Mailer {
  const dkim = createDkimSigner(config);
  if (config.SMTP_URL) return new SmtpMailer(config.MAIL_FROM, config.MAIL_REPLY_TO, config.SMTP_URL, config.SMTP_POOL_SIZE, config.SMTP_TIMEOUT_MS, dkim);
  return new OutboxMailer(config.MAIL_FROM, config.MAIL_REPLY_TO, path.resolve(config.OUTBOX_DIR), dkim);
}

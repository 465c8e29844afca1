import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { needsPerson, type InboundService } from '../core/inbound.ts';
import type { VerpAddresses } from '../core/verp.ts';
import type { Logger } from '../log.ts';
import { classifyMessage } from './classify.ts';

/** Where the mailbox is and how it is read (INBOUND_* variables). */
export interface ImapPollerSettings {
  /** imap(s)://user:password@host:port/MAILBOX */
  url: string;
  pollIntervalMs: number;
  doneFolder: string;
  unknownFolder: string;
}

/** What the poller reports after each pass over the mailbox. */
export interface PollReport {
  ok: boolean;
  at: Date;
  /** messages handled in this pass */
  handled: number;
  error?: string;
}

/** Seams for operators' status and for the crash test. */
export interface ImapPollerHooks {
  onPoll?: (report: PollReport) => void;
  /** called after a message's effect is committed and before it is moved */
  afterCommit?: (key: string) => void;
}

/** A message that failed this many times is set aside in the unrecognised folder (a poison message). */
export const POISON_ATTEMPTS = 3;

/** The idempotency key of a raw message: its Message-ID, else the SHA-256 of its bytes. */
export function messageKey(raw: Buffer): string {
  const head = raw.subarray(0, Math.max(0, raw.indexOf('\r\n\r\n')) || 65536).toString('latin1');
  const id = /^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]{1,900}>)/im.exec(head)?.[1];
  return id ? `imap:${id}` : `imap:sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** Connection options for imapflow from an imap:// or imaps:// URL. */
export function imapOptions(url: string): { host: string; port: number; secure: boolean; auth: { user: string; pass: string }; mailbox: string } {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  const mailbox = decodeURIComponent(u.pathname.replace(/^\/+/, '')) || 'INBOX';
  const auth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  return { host: u.hostname, port: Number(u.port || (secure ? 993 : 143)), secure, auth, mailbox };
}

/**
 * Reads the bounce mailbox: every message is classified, its effect committed in PostgreSQL, and only then
 * moved to the done or unrecognised folder. Waits between passes with IMAP IDLE where the server offers it
 * (imapflow idles on its own and reports new mail at once), else polls every INBOUND_POLL_INTERVAL_MS.
 * A message that keeps failing is set aside after POISON_ATTEMPTS, so it never blocks the ones after it.
 */
export class ImapPoller {
  private client: ImapFlow | null = null;
  private folders: { done: string; unknown: string } | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** new mail was announced while a pass was running: the next pause is skipped */
  private newMail = false;

  constructor(
    private readonly settings: ImapPollerSettings,
    private readonly service: InboundService,
    private readonly verp: VerpAddresses | null,
    private readonly log: Logger,
    private readonly hooks: ImapPollerHooks = {},
  ) {}

  /** Starts reading in the background until close(). */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops after the message in hand and logs out. A pass that does not end within `graceMs` (a server that
   * stopped answering) has its connection closed: safe, a message is moved only after its commit.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    if (this.loop && (await Promise.race([this.loop.then(() => false), overdue]))) this.client?.close();
    clearTimeout(timer);
    await this.loop;
    await this.disconnect();
  }

  /** One pass over the mailbox; returns how many messages were handled. Throws when the mailbox is unavailable. */
  async pollOnce(): Promise<number> {
    const client = await this.connect();
    const { mailbox } = imapOptions(this.settings.url);
    const lock = await client.getMailboxLock(mailbox);
    let handled = 0;
    this.newMail = false;
    try {
      const uids = (await client.search({ all: true }, { uid: true })) || [];
      for (const uid of uids) {
        if (this.stopped) break;
        const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
        if (message && message.source && (await this.handle(client, uid, message.source))) handled++;
      }
    } finally {
      lock.release();
    }
    return handled;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const handled = await this.pollOnce();
        this.hooks.onPoll?.({ ok: true, at: new Date(), handled });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.log.warn({ err: error }, 'inbound mailbox could not be read');
        this.hooks.onPoll?.({ ok: false, at: new Date(), handled: 0, error });
        await this.disconnect();
      }
      await this.pause();
    }
  }

  /** Handles one message; true when it was moved out of the inbox. */
  private async handle(client: ImapFlow, uid: number, raw: Buffer): Promise<boolean> {
    const key = messageKey(raw);
    let folder: string;
    try {
      const classified = await classifyMessage(raw, this.verp);
      const { outcome } = await this.service.process(key, 'imap', classified.event);
      this.hooks.afterCommit?.(key);
      folder = needsPerson(outcome) ? this.folders!.unknown : this.folders!.done;
    } catch (err) {
      if (!client.usable) throw err;
      // a database that is away throws here too: then the pass fails and nothing is set aside
      const attempts = await this.service.recordFailure(key, 'imap', err);
      this.log.warn({ err: err instanceof Error ? err.message : String(err), attempts }, 'inbound message failed');
      if (attempts < POISON_ATTEMPTS) return false;
      folder = this.folders!.unknown;
    }
    await client.messageMove(String(uid), folder, { uid: true });
    return true;
  }

  private async connect(): Promise<ImapFlow> {
    if (this.client?.usable) return this.client;
    await this.disconnect();
    const { mailbox: _mailbox, ...options } = imapOptions(this.settings.url);
    // IDLE starts 1 s after the last command, so new mail is seen at once rather than after imapflow's default delay
    const client = new ImapFlow({ ...options, logger: false, connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 300_000, autoIdleDelay: 1_000 });
    client.on('error', (err: Error) => this.log.warn({ err: err.message }, 'IMAP connection error'));
    client.on('exists', () => {
      this.newMail = true;
      this.wake?.();
    });
    await client.connect();
    this.client = client;
    this.folders = { done: await this.ensureFolder(client, this.settings.doneFolder), unknown: await this.ensureFolder(client, this.settings.unknownFolder) };
    return client;
  }

  /** The server's path of a folder given with "/" separators; created when missing. */
  private async ensureFolder(client: ImapFlow, folder: string): Promise<string> {
    const parts = folder.split('/').filter(Boolean);
    const existing = (await client.list()).find((m) => m.path === folder || m.path === parts.join(m.delimiter || '/'));
    if (existing) return existing.path;
    const created = await client.mailboxCreate(parts);
    this.log.info({ folder: created.path }, 'inbound folder created');
    return created.path;
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.logout().catch(() => client.close());
  }

  /** Waits the poll interval, or less when the server reports new mail (IDLE) or close() is called. */
  private async pause(): Promise<void> {
    if (this.stopped) return;
    if (this.newMail) {
      this.newMail = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.settings.pollIntervalMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }
}

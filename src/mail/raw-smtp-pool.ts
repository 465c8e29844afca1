import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { FilledMessage } from './mime-template.ts';
import type { SmtpOptions } from './smtp-options.ts';

type Connection = SMTPConnection & {
  broken?: boolean;
  /** while a message is on this connection: when it started and how to give up on it */
  inFlight?: { since: number; abandon: (err: Error) => void };
  /** the buffer this connection writes filled messages into, reused once the server has answered */
  scratch?: Buffer;
  /** when it was put back idle */
  idleSince?: number;
};

/** Tuning and observation of a pool. */
export interface PoolOptions {
  /** idle connections are closed after this long (0: never) */
  idleTimeoutMs?: number;
  /** seconds a send waited for a connection */
  onWait?: (seconds: number) => void;
  /** seconds of the SMTP transaction itself (MAIL FROM to the reply to the end of DATA) */
  onTransaction?: (seconds: number) => void;
  /** the server refused an extra connection: the pool's limit is now `limit` */
  onLimitLowered?: (limit: number, err: unknown) => void;
}

/** After this long without a refusal, a lowered connection limit is raised by one again. */
const LIMIT_RECOVERY_MS = 60_000;

/** Connection options of a bare smtp(s):// URL (user and password in it), as tests and benchmarks give them. */
function optionsFromUrl(url: URL, timeoutMs: number): SmtpOptions {
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 587)),
    secure,
    requireTLS: false,
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    tls: {},
    connectionTimeout: Math.min(10_000, timeoutMs),
    greetingTimeout: Math.min(10_000, timeoutMs),
    socketTimeout: timeoutMs,
  };
}

/** A refusal of a new connection that says "not now, you have enough" rather than "down". */
function isConnectionLimit(err: unknown): boolean {
  const { responseCode, code } = err as { responseCode?: number; code?: string };
  return responseCode === 421 || code === 'ECONNRESET';
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A message body that nodemailer reads only after the 354 to DATA: it waits for `admit` before handing over
 * its bytes, so a server holds nothing it could accept until the caller allows it.
 */
function admittedBody(bytes: () => string | Buffer, admit: () => Promise<void>): Readable {
  let asked = false;
  return new Readable({
    read() {
      if (asked) return;
      asked = true;
      admit().then(
        () => {
          if (this.destroyed) return;
          this.push(bytes());
          this.push(null);
        },
        (err: Error) => this.destroy(err),
      );
    },
  });
}

/** How often in-flight sends are checked against their deadline. */
const WATCHDOG_INTERVAL_MS = 1_000;

/**
 * Sends prebuilt MIME messages over a few long-lived nodemailer SMTP connections. nodemailer's own
 * pool streams each message through its composer and transforms, which costs more CPU than the message
 * itself on this path (≈2,000 vs ≈5,000 messages/s per process on the benchmark sink); the protocol —
 * greeting, EHLO, STARTTLS, AUTH, dot-stuffing, reply parsing — stays nodemailer's SMTPConnection.
 *
 * Failing fast: when a new connection cannot be opened and none is open, every send waiting for a
 * connection fails with the same error at once (the server is unavailable to all of them), so an outage
 * costs one timeout, not one per queued message. A relay's connection limit is not an outage: an extra
 * connection refused (421 at greeting) while others are open lowers this pool's limit to the connections
 * it has, and the waiting sends stay queued for those (measured against Postfix with
 * smtpd_client_connection_count_limit=4: 86 of 5,000 messages in 480 s before, all of them after).
 * Idle connections are closed after `idleTimeoutMs`, so they hold none of the relay's slots. Never hanging: a send still unsettled after its deadline (several socket
 * timeouts) is abandoned and its connection destroyed, so a job always finishes and shutdown never waits
 * on a lost callback.
 */
export class RawSmtpPool {
  private readonly idle: Connection[] = [];
  private readonly busy = new Set<Connection>();
  private readonly waiting: Waiter[] = [];
  private readonly sendDeadlineMs: number;
  private readonly watchdog: NodeJS.Timeout;
  private readonly smtp: SmtpOptions;
  private open = 0;
  private closed = false;
  /** connections allowed now: `size`, or fewer after the server refused an extra one */
  private limit: number;
  private limitLoweredAt = 0;

  constructor(
    target: URL | SmtpOptions,
    private readonly size: number,
    timeoutMs: number,
    private readonly options: PoolOptions = {},
  ) {
    this.smtp = target instanceof URL ? optionsFromUrl(target, timeoutMs) : target;
    this.limit = size;
    // a send is a handful of round trips, each bounded by the socket timeout
    this.sendDeadlineMs = timeoutMs * 4;
    this.watchdog = setInterval(() => this.sweep(), WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  /** Connections the pool may open now (lowered by a relay's connection limit). */
  get connectionLimit(): number {
    return this.limit;
  }

  /**
   * Sends one message to one recipient; rejects with nodemailer's error (responseCode, code). `admit`, when
   * given, is awaited after the server's 354 to DATA, just before the message's bytes leave: a message the
   * server can accept exists only from then on (the caller's bound on unrecorded messages; see DeliveryService).
   */
  async send(from: string, to: string, raw: string | Buffer | FilledMessage, admit?: () => Promise<void>): Promise<void> {
    const asked = process.hrtime.bigint();
    const connection = await this.acquire();
    const started = process.hrtime.bigint();
    this.options.onWait?.(Number(started - asked) / 1e9);
    this.busy.add(connection);
    try {
      const bytes = () => (raw instanceof FilledMessage ? this.writeToScratch(connection, raw) : raw);
      await new Promise<void>((resolve, reject) => {
        connection.inFlight = { since: Date.now(), abandon: reject };
        connection.send({ from, to: [to] }, admit ? admittedBody(bytes, admit) : bytes(), (err) => (err ? reject(err) : resolve()));
      }).finally(() => this.options.onTransaction?.(Number(process.hrtime.bigint() - started) / 1e9));
      this.release(connection, true);
    } catch (err) {
      this.release(connection, await this.recoverAfter(connection, err));
      throw err;
    }
  }

  /**
   * The message in this connection's scratch buffer. Safe to reuse: a connection carries one message at a
   * time, and its bytes are all written once the server has answered the end of DATA; a connection that
   * failed mid-message is discarded with its buffer.
   */
  private writeToScratch(connection: Connection, message: FilledMessage): Buffer {
    const length = message.byteLength;
    if (!connection.scratch || connection.scratch.length < length) connection.scratch = Buffer.allocUnsafeSlow(Math.ceil(length * 1.25));
    return connection.scratch.subarray(0, message.writeInto(connection.scratch));
  }

  /**
   * The server refused us in a way every queued message would meet (our configuration, an outage seen
   * mid-session): fails the sends waiting for a connection with `err` at once, and retires every
   * connection, so the next sends open new sessions (a relay applies new settings, and resets its error
   * count and delays, only to new sessions — Postfix sleeps a second more per error on a session).
   */
  abort(err: unknown): void {
    this.failWaiting(err);
    for (const connection of this.idle.splice(0)) this.discard(connection);
    for (const connection of this.busy) connection.broken = true;
  }

  /** Closes every connection and fails the sends still waiting for one; sends in flight finish on theirs. */
  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    for (const connection of this.idle.splice(0)) connection.quit();
    this.failWaiting(Object.assign(new Error('SMTP pool closed'), { code: 'ECONNECTION' }));
  }

  /** A refusal of this one message leaves the session usable after RSET; anything else does not. */
  private recoverAfter(connection: Connection, err: unknown): Promise<boolean> {
    const { code, responseCode } = err as { code?: string; responseCode?: number };
    if (connection.broken || responseCode === 421 || (code !== 'EENVELOPE' && code !== 'EMESSAGE')) return Promise.resolve(false);
    return new Promise((resolve) => {
      // nodemailer forgets a pending RSET when the connection dies: the 'end' answers for it
      const ended = () => resolve(false);
      connection.once('end', ended);
      connection.inFlight = { since: Date.now(), abandon: ended };
      connection.reset((resetErr) => {
        connection.removeListener('end', ended);
        resolve(!resetErr);
      });
    });
  }

  private async acquire(): Promise<Connection> {
    for (;;) {
      if (this.closed) throw Object.assign(new Error('SMTP pool closed'), { code: 'ECONNECTION' });
      const idle = this.idle.pop();
      if (idle && !idle.broken) return idle;
      // Broke while idle (the socket timeout or the server's idle limit closed it): its slot is free again.
      if (idle) {
        this.discard(idle);
        continue;
      }
      this.raiseLimitAfterQuiet();
      if (this.open < this.limit) {
        const connection = await this.connect();
        if (connection) return connection;
        continue;
      }
      await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    }
  }

  /** A lowered limit is raised by one after a quiet minute: the relay's limit may have been raised, or shared. */
  private raiseLimitAfterQuiet(): void {
    if (this.limit < this.size && Date.now() - this.limitLoweredAt > LIMIT_RECOVERY_MS) {
      this.limit += 1;
      this.limitLoweredAt = Date.now();
    }
  }

  private release(connection: Connection, reusable: boolean): void {
    this.busy.delete(connection);
    connection.inFlight = undefined;
    connection.idleSince = Date.now();
    if (reusable && !connection.broken && !this.closed && this.open <= this.limit) this.idle.push(connection);
    else this.discard(connection);
    this.waiting.shift()?.resolve();
  }

  /** Closes a connection the pool no longer uses and frees its slot (`open` counts every slot in use). */
  private discard(connection: Connection): void {
    this.open -= 1;
    connection.close();
  }

  /** A new connection; null when the server refused it for its connection limit while others are open. */
  private async connect(): Promise<Connection | null> {
    this.open += 1;
    try {
      return await this.openConnection();
    } catch (err) {
      this.open -= 1;
      if (this.open > 0 && isConnectionLimit(err)) {
        this.limit = Math.max(1, this.open);
        this.limitLoweredAt = Date.now();
        this.options.onLimitLowered?.(this.limit, err);
        return null;
      }
      this.failWaiting(err);
      throw err;
    }
  }

  private failWaiting(err: unknown): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(err);
  }

  /** Runs every second: closes connections idle too long, gives up on overdue sends. */
  private sweep(): void {
    this.closeIdle();
    this.abandonOverdue();
  }

  /** Closes connections idle longer than idleTimeoutMs (the oldest sit at the bottom of the stack). */
  private closeIdle(): void {
    const timeout = this.options.idleTimeoutMs ?? 0;
    if (timeout <= 0) return;
    const before = Date.now() - timeout;
    while (this.idle.length > 0 && (this.idle[0]!.idleSince ?? 0) < before) {
      const connection = this.idle.shift()!;
      this.open -= 1;
      connection.quit();
    }
  }

  /** Gives up on sends past their deadline: the callback was lost or the server stalls within the timeouts. */
  private abandonOverdue(): void {
    const overdue = Date.now() - this.sendDeadlineMs;
    for (const connection of this.busy) {
      if (!connection.inFlight || connection.inFlight.since > overdue) continue;
      connection.broken = true;
      connection.inFlight.abandon(Object.assign(new Error(`SMTP send not finished within ${this.sendDeadlineMs} ms`), { code: 'ETIMEDOUT' }));
      connection.inFlight = undefined;
      connection.close();
    }
  }

  private openConnection(): Promise<Connection> {
    const { auth, ...options } = this.smtp;
    const connection: Connection = new SMTPConnection(options);
    const markBroken = () => {
      connection.broken = true;
    };
    connection.on('error', markBroken);
    connection.once('end', markBroken);
    return new Promise((resolve, reject) => {
      // Until the session is ready, failures arrive as events or as the connect callback's error.
      const fail = (err: Error) => {
        reject(err);
        connection.close();
      };
      const closed = () => reject(Object.assign(new Error('SMTP connection closed'), { code: 'ECONNECTION' }));
      const ready = () => {
        connection.removeListener('error', fail);
        connection.removeListener('end', closed);
        resolve(connection);
      };
      connection.once('error', fail);
      connection.once('end', closed);
      connection.connect((connectErr?: Error | null) => {
        if (connectErr) return fail(connectErr);
        if (!auth) return ready();
        connection.login(auth, (loginErr) => (loginErr ? fail(loginErr) : ready()));
      });
    });
  }
}

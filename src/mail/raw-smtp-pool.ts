import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { FilledMessage } from './mime-template.ts';

type Connection = SMTPConnection & {
  broken?: boolean;
  /** while a message is on this connection: when it started and how to give up on it */
  inFlight?: { since: number; abandon: (err: Error) => void };
  /** the buffer this connection writes filled messages into, reused once the server has answered */
  scratch?: Buffer;
};

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How often in-flight sends are checked against their deadline. */
const WATCHDOG_INTERVAL_MS = 1_000;

/**
 * Sends prebuilt MIME messages over a few long-lived nodemailer SMTP connections. nodemailer's own
 * pool streams each message through its composer and transforms, which costs more CPU than the message
 * itself on this path (≈2,000 vs ≈5,000 messages/s per process on the benchmark sink); the protocol —
 * greeting, EHLO, STARTTLS, AUTH, dot-stuffing, reply parsing — stays nodemailer's SMTPConnection.
 *
 * Failing fast: when a new connection cannot be opened, every send waiting for a connection fails with
 * the same error at once (the server is unavailable to all of them), so an outage costs one timeout,
 * not one per queued message. Never hanging: a send still unsettled after its deadline (several socket
 * timeouts) is abandoned and its connection destroyed, so a job always finishes and shutdown never waits
 * on a lost callback.
 */
export class RawSmtpPool {
  private readonly idle: Connection[] = [];
  private readonly busy = new Set<Connection>();
  private readonly waiting: Waiter[] = [];
  private readonly sendDeadlineMs: number;
  private readonly watchdog: NodeJS.Timeout;
  private open = 0;
  private closed = false;

  constructor(
    private readonly url: URL,
    private readonly size: number,
    private readonly timeoutMs: number,
  ) {
    // a send is a handful of round trips, each bounded by the socket timeout
    this.sendDeadlineMs = timeoutMs * 4;
    this.watchdog = setInterval(() => this.abandonOverdue(), WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  /** Sends one message to one recipient; rejects with nodemailer's error (responseCode, code). */
  async send(from: string, to: string, raw: string | Buffer | FilledMessage): Promise<void> {
    const connection = await this.acquire();
    this.busy.add(connection);
    try {
      const bytes = raw instanceof FilledMessage ? this.writeToScratch(connection, raw) : raw;
      await new Promise<void>((resolve, reject) => {
        connection.inFlight = { since: Date.now(), abandon: reject };
        connection.send({ from, to: [to] }, bytes, (err) => (err ? reject(err) : resolve()));
      });
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
      if (this.open < this.size) return this.connect();
      await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    }
  }

  private release(connection: Connection, reusable: boolean): void {
    this.busy.delete(connection);
    connection.inFlight = undefined;
    if (reusable && !connection.broken && !this.closed) this.idle.push(connection);
    else this.discard(connection);
    this.waiting.shift()?.resolve();
  }

  /** Closes a connection the pool no longer uses and frees its slot (`open` counts every slot in use). */
  private discard(connection: Connection): void {
    this.open -= 1;
    connection.close();
  }

  private async connect(): Promise<Connection> {
    this.open += 1;
    try {
      return await this.openConnection();
    } catch (err) {
      this.open -= 1;
      this.failWaiting(err);
      throw err;
    }
  }

  private failWaiting(err: unknown): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(err);
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
    const secure = this.url.protocol === 'smtps:';
    const connection: Connection = new SMTPConnection({
      host: this.url.hostname,
      port: Number(this.url.port || (secure ? 465 : 587)),
      secure,
      connectionTimeout: Math.min(10_000, this.timeoutMs),
      greetingTimeout: Math.min(10_000, this.timeoutMs),
      socketTimeout: this.timeoutMs,
    });
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
        if (!this.url.username) return ready();
        const auth = { user: decodeURIComponent(this.url.username), pass: decodeURIComponent(this.url.password) };
        connection.login(auth, (loginErr) => (loginErr ? fail(loginErr) : ready()));
      });
    });
  }
}

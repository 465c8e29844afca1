import type { AddressInfo, Socket } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** How the test server answers one recipient: accept, or reject with an SMTP error. */
export type RcptVerdict = { ok: true } | { ok: false; code: number; message: string };

/** A received message with its raw source and envelope. */
export interface ReceivedMail {
  parsed: ParsedMail;
  raw: string;
  to: string[];
  /** the envelope sender (MAIL FROM) */
  from: string;
}

/** A real SMTP server on a loopback port that records what it receives. */
export interface TestSmtpServer {
  port: number;
  url: string;
  received: ReceivedMail[];
  /** Decides per recipient; default accepts everything. */
  onRecipient: (address: string, session: SMTPServerSession) => RcptVerdict;
  /** Delay of the greeting of each new connection, in ms (0: at once). */
  greetingDelayMs: number;
  /**
   * Delay of the reply to the end of DATA, in ms (0: at once). The message is recorded before the
   * wait, as a real MTA commits it before it answers: a client that gives up meanwhile has sent it.
   */
  dataReplyDelayMs: number;
  /** Connections still to be dropped in the middle of DATA (each drop counts one down); such a message is not recorded. */
  dropsMidData: number;
  /** Connections dropped mid-DATA so far. */
  dropped: number;
  /** Recorded messages whose 250 never reached the client: it hung up during `dataReplyDelayMs`. */
  unacknowledged: ReceivedMail[];
  /** Resolves once at least `count` messages arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Messages to one address. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1, on an ephemeral port unless `port` is given. */
export async function startSmtpServer(port = 0): Promise<TestSmtpServer> {
  const state: TestSmtpServer = {
    port: 0,
    url: '',
    received: [],
    onRecipient: () => ({ ok: true }),
    greetingDelayMs: 0,
    dataReplyDelayMs: 0,
    dropsMidData: 0,
    dropped: 0,
    unacknowledged: [],
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (state.received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} e-mails, got ${state.received.length}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return state.received;
    },
    to(address) {
      return state.received.filter((m) => m.to.includes(address.toLowerCase()));
    },
    close: async () => undefined,
  };
  const sockets = new Map<number, Socket>();
  const closedSessions = new Set<string>();
  const later = (ms: number, fn: () => void) => (ms > 0 ? void setTimeout(fn, ms) : fn());
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      later(state.greetingDelayMs, () => callback());
    },
    onClose(session) {
      closedSessions.add(session.id);
      sockets.delete(session.remotePort);
    },
    onRcptTo(address, session, callback) {
      const verdict = state.onRecipient(address.address, session);
      if (verdict.ok) return callback();
      const err = Object.assign(new Error(verdict.message), { responseCode: verdict.code });
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let drop = false;
      stream.on('data', (c: Buffer) => {
        if (state.dropsMidData > 0 && chunks.length === 0) {
          state.dropsMidData -= 1;
          state.dropped += 1;
          drop = true;
          sockets.get(session.remotePort)?.destroy();
        }
        chunks.push(c);
      });
      stream.on('end', () => {
        if (drop) return;
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const mailFrom = session.envelope.mailFrom;
            const mail = { parsed, raw, to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), from: mailFrom ? mailFrom.address : '' };
            state.received.push(mail);
            later(state.dataReplyDelayMs, () => {
              if (closedSessions.has(session.id)) state.unacknowledged.push(mail);
              callback();
            });
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  // a client killed mid-session (a SIGKILLed worker) resets its connection: not a failure of the server
  server.on('error', () => undefined);
  server.server.on('connection', (socket: Socket) => sockets.set(socket.remotePort ?? 0, socket));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  state.url = `smtp://127.0.0.1:${state.port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

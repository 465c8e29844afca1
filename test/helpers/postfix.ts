import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { freePort } from './throwaway-servers.ts';

// A throwaway Debian Postfix: its own config_directory, queue_directory and data_directory in a temporary
// folder, smtpd on a free loopback port, relaying everything to `relayTo` (a test SMTP server that counts
// per recipient). Needs root (Postfix's master runs as root and drops to the postfix user), as in CI.
const run = promisify(execFile);
const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';

/** Services of the throwaway instance: no chroot, no local delivery, logs to a file through postlogd. */
const MASTER_CF = (port: number, submissionPort: number, submission: string[]) => `
127.0.0.1:${port} inet n - n - - smtpd
127.0.0.1:${submissionPort} inet n - n - - smtpd
${submission.map((o) => `  -o ${o}`).join('\n')}
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`;

/** Options of a throwaway Postfix. */
export interface PostfixOptions {
  /** host:port of the next hop every message is relayed to */
  relayTo: string;
  /** extra main.cf settings (name → value), e.g. smtpd_client_connection_count_limit */
  main?: Record<string, string>;
  /** -o overrides of the second smtpd ("submission") in master.cf, e.g. smtpd_tls_security_level=encrypt */
  submission?: string[];
  /** smtpd port (default: a free one), when the client's configuration must name it first */
  port?: number;
}

/** A running throwaway Postfix. */
export interface ThrowawayPostfix {
  /** smtpd port on 127.0.0.1 */
  port: number;
  /** the second smtpd's port, with the `submission` overrides */
  submissionPort: number;
  url: string;
  dir: string;
  /** Sets main.cf parameters and reloads a running instance. */
  configure(settings: Record<string, string>): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Postfix's own log (maillog_file). */
  log(): string;
  destroy(): Promise<void>;
}

/** main.cf of the instance: relays everything, loopback only, limits applying to loopback clients too. */
function mainSettings(dir: string, options: PostfixOptions): Record<string, string> {
  return {
    compatibility_level: '3.6',
    queue_directory: path.join(dir, 'queue'),
    data_directory: path.join(dir, 'data'),
    maillog_file: path.join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    myhostname: 'relay.powiadom.test',
    mydomain: 'powiadom.test',
    mydestination: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    relayhost: `[${options.relayTo.replace(/:(\d+)$/, ']:$1')}`,
    alias_maps: '',
    alias_database: '',
    local_transport: 'error:local delivery is disabled',
    smtpd_client_event_limit_exceptions: '',
    smtp_tls_security_level: 'none',
    default_destination_concurrency_limit: '20',
    default_destination_recipient_limit: '50',
    // the instance is thrown away: no fsync of each queue file
    smtpd_banner: '$myhostname ESMTP',
    ...options.main,
  };
}

async function postconf(dir: string, settings: Record<string, string>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  if (args.length > 0) await run(POSTCONF, ['-c', dir, '-e', ...args]);
}

/** Creates and starts a Postfix instance in a temporary folder. */
export async function startPostfix(options: PostfixOptions): Promise<ThrowawayPostfix> {
  // on tmpfs when there is one: Postfix syncs every queue file, a disk would set the pace of the tests
  const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'powiadom-postfix-'));
  // the postfix user must reach its queue and data folders
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'queue'));
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'main.cf'), '');
  const port = options.port ?? (await freePort());
  const submissionPort = await freePort();
  writeFileSync(path.join(dir, 'master.cf'), MASTER_CF(port, submissionPort, options.submission ?? []));
  await postconf(dir, mainSettings(dir, options));
  await run('chown', ['postfix', path.join(dir, 'data')]);
  // The log must be writable by the postfix user too: on a restart after a stop mid-transaction, postsuper
  // (running as mail_owner) warns about the half-received queue file and dies if it cannot open the log.
  writeFileSync(path.join(dir, 'maillog'), '');
  await run('chown', ['postfix', path.join(dir, 'maillog')]);
  const postfix: ThrowawayPostfix = {
    port,
    submissionPort,
    url: `smtp://127.0.0.1:${port}`,
    dir,
    async configure(settings) {
      await postconf(dir, settings);
      if (await isRunning(dir)) await run(POSTFIX, ['-c', dir, 'reload']);
    },
    async start() {
      await run(POSTFIX, ['-c', dir, 'start']);
      await waitForPort(port);
    },
    async stop() {
      if (await isRunning(dir)) await run(POSTFIX, ['-c', dir, 'stop']);
      // `postfix stop` returns before master has closed its listeners
      await waitFor(async () => !(await isRunning(dir)), 30_000, 'postfix did not stop');
    },
    log: () => {
      try {
        return readFileSync(path.join(dir, 'maillog'), 'utf8');
      } catch {
        return '';
      }
    },
    async destroy() {
      await run(POSTFIX, ['-c', dir, 'abort']).catch(() => undefined);
      await waitFor(async () => !(await isRunning(dir)), 30_000, 'postfix did not stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await postfix.start();
  return postfix;
}

async function isRunning(dir: string): Promise<boolean> {
  return run(POSTFIX, ['-c', dir, 'status']).then(
    () => true,
    () => false,
  );
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  const open = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  await waitFor(open, 60_000, `postfix did not listen on ${port}`);
}

/** A private CA and a certificate it signed for relay.powiadom.test (and 127.0.0.1), as PEM files. */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** the name in the certificate */
  host: string;
}

/** Makes a throwaway CA and server certificate with openssl in `dir`. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => path.join(dir, name);
  const host = 'relay.powiadom.test';
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Powiadom test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${host}`, '-keyout', file('server.key'), '-out', file('server.csr')]);
  writeFileSync(file('san.cnf'), `subjectAltName=DNS:${host},IP:127.0.0.1\n`);
  await run('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('san.cnf'), '-out', file('server.pem')]);
  chmodSync(file('server.key'), 0o644);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key'), host };
}

/** A message the counting sink received: its envelope recipients and raw source. */
export interface SinkMessage {
  to: string[];
  raw: string;
}

/** The next hop behind the Postfix: records envelopes and raw messages without parsing them (it must keep up). */
export interface CountingSink {
  port: number;
  received: SinkMessage[];
  /** Messages to one address. */
  to(address: string): SinkMessage[];
  close(): Promise<void>;
}

/** Starts a counting SMTP sink on a free loopback port. */
export async function startCountingSink(): Promise<CountingSink> {
  const received: SinkMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    to: (address) => received.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

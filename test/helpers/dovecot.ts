import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from './throwaway-servers.ts';

const DOVECOT = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';
const USER = 'bounces';
const PASSWORD = 'test-password-1';

/** A throwaway Dovecot IMAP server: own config, base_dir and maildirs in a temp folder, one user, no SSL. */
export interface ThrowawayDovecot {
  port: number;
  /** imap://bounces:…@127.0.0.1:<port>/INBOX */
  url: string;
  /** Puts a message into a folder (IMAP APPEND). */
  append(raw: string, folder?: string): Promise<void>;
  /** Subjects of the messages in a folder ([] when the folder does not exist). */
  subjects(folder: string): Promise<string[]>;
  start(): Promise<void>;
  /** Kills the server and its processes (SIGKILL): clients see the connection drop, new ones are refused. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

function config(dir: string, port: number): string {
  const root = process.getuid?.() === 0;
  const me = root ? '' : `default_internal_user = ${process.env.USER ?? 'nobody'}\ndefault_login_user = ${process.env.USER ?? 'nobody'}\n`;
  const uid = root ? 65534 : process.getuid!();
  const gid = root ? 65534 : process.getgid!();
  return `${me}base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:${dir}/mail/%u:LAYOUT=fs
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
`;
}

async function waitForPort(port: number, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dovecot did not listen on ${port}`);
}

/** Starts Dovecot with a fresh mail store on a free loopback port. */
export async function startDovecot(): Promise<ThrowawayDovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'powiadom-dovecot-'));
  // Dovecot's auth and mail processes run as other users: they must reach the files in here
  chmodSync(dir, 0o755);
  const port = await freePort();
  for (const sub of ['run', 'state', 'mail']) mkdirSync(path.join(dir, sub));
  if (process.getuid?.() === 0) chownSync(path.join(dir, 'mail'), 65534, 65534);
  writeFileSync(path.join(dir, 'users'), `${USER}:{PLAIN}${PASSWORD}\n`);
  writeFileSync(path.join(dir, 'dovecot.conf'), config(dir, port));
  const url = `imap://${USER}:${PASSWORD}@127.0.0.1:${port}/INBOX`;
  let child: ChildProcess | null = null;
  const client = async <T>(work: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: USER, pass: PASSWORD }, logger: false });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.logout().catch(() => c.close());
    }
  };
  const server: ThrowawayDovecot = {
    port,
    url,
    async append(raw, folder = 'INBOX') {
      await client((c) => c.append(folder, raw));
    },
    async subjects(folder) {
      return client(async (c) => {
        const exists = (await c.list()).some((m) => m.path === folder);
        if (!exists) return [];
        const lock = await c.getMailboxLock(folder);
        try {
          const found: string[] = [];
          if ((c.mailbox as { exists: number }).exists === 0) return found;
          for await (const msg of c.fetch('1:*', { envelope: true })) found.push(msg.envelope?.subject ?? '');
          return found.sort();
        } finally {
          lock.release();
        }
      });
    },
    async start() {
      // its own process group, so stop() takes down the login and imap processes with the master
      child = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: 'ignore', detached: true });
      const failed = new Promise<never>((_resolve, reject) => {
        child!.once('error', (err) => reject(new Error(`${DOVECOT} did not start (apt-get install dovecot-imapd; .ci/run does): ${err.message}`)));
        child!.once('exit', (code) => reject(new Error(`dovecot exited with ${code}; see ${dir}/dovecot.log`)));
      });
      failed.catch(() => undefined);
      await Promise.race([waitForPort(port), failed]);
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise((resolve) => {
        c.once('exit', resolve);
        process.kill(-c.pid!, 'SIGKILL');
      });
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

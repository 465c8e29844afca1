/**
 * Throughput through a real Postfix (throwaway instance, STARTTLS with a private CA, queue on tmpfs) in
 * front of a counting sink: Powiadom's pool (RawSmtpPool) against the plain nodemailer loop (pooled
 * transport, sendMail with the same prebuilt message), same connection count, same messages.
 * Run as root: `npx tsx test/bench/postfix-throughput.ts [messages] [connections] [--dkim]`. Reports messages per
 * second accepted by Postfix and the sender's CPU per message; docs/smtp.md quotes the results. With --dkim
 * each message is signed with a fresh RSA-2048 key (relaxed/relaxed): Powiadom's signer (src/mail/dkim-signer.ts)
 * in front of its pool, nodemailer's own DKIM in the loop (docs/delivery-performance.md quotes those).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer, { type TransportOptions } from 'nodemailer';
import type { Config } from '../../src/config.ts';
import { createDkimSigner } from '../../src/mail/dkim-signer.ts';
import { RawSmtpPool } from '../../src/mail/raw-smtp-pool.ts';
import type { SmtpOptions } from '../../src/mail/smtp-options.ts';
import { makeTestCertificates, startCountingSink, startPostfix } from '../helpers/postfix.ts';

const args = process.argv.slice(2).filter((a) => a !== '--dkim');
const N = Number(args[0] ?? 2000);
const CONNECTIONS = Number(args[1] ?? 8);
const DKIM_KEY = process.argv.includes('--dkim') ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() : undefined;
const signer = DKIM_KEY ? createDkimSigner({ DKIM_DOMAIN: 'duw.example', DKIM_SELECTOR: 'powiadom', DKIM_PRIVATE_KEY: DKIM_KEY } as Config) : null;
const signed = signer ? ', DKIM rsa-sha256' : '';

function message(i: number): string {
  const body = 'Komunikat Dolnośląskiego Urzędu Wojewódzkiego. '.repeat(200);
  return `From: DUW <powiadomienia@duw.example>\r\nTo: bench-${i}@example.pl\r\nSubject: Komunikat ${i}\r\nMessage-ID: <bench-${i}@duw.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`;
}

async function measure(name: string, send: (i: number) => Promise<void>): Promise<void> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0;
  // CONNECTIONS × 8 sends in flight, as the send worker's chunks keep the pool busy
  await Promise.all(Array.from({ length: CONNECTIONS * 8 }, async () => {
    while (next < N) await send(next++);
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / N;
  console.log(`${name}: ${N} messages in ${seconds.toFixed(1)} s = ${(N / seconds).toFixed(0)} msg/s accepted by Postfix, ${cpuMs.toFixed(2)} ms CPU per message`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'powiadom-bench-certs-'));
  const certs = await makeTestCertificates(dir);
  const sink = await startCountingSink();
  const postfix = await startPostfix({
    relayTo: `127.0.0.1:${sink.port}`,
    main: { smtpd_tls_cert_file: certs.certFile, smtpd_tls_key_file: certs.keyFile, smtpd_tls_security_level: 'may', default_destination_concurrency_limit: '20' },
  });
  const smtp: SmtpOptions = {
    host: '127.0.0.1',
    port: postfix.port,
    secure: false,
    requireTLS: true,
    name: 'powiadom.duw.example',
    tls: { ca: await import('node:fs').then((fs) => fs.readFileSync(certs.caFile, 'utf8')), servername: certs.host },
    connectionTimeout: 60_000,
    greetingTimeout: 60_000,
    socketTimeout: 30_000,
  };
  try {
    const pool = new RawSmtpPool(smtp, CONNECTIONS, 30_000);
    await measure(`powiadom pool (${CONNECTIONS} connections, STARTTLS${signed})`, (i) => pool.send('powiadomienia@duw.example', `bench-${i}@example.pl`, signer ? signer.sign(message(i)) : message(i)));
    pool.close();
    const dkim = DKIM_KEY ? { dkim: { domainName: 'duw.example', keySelector: 'powiadom', privateKey: DKIM_KEY } } : {};
    const transport = nodemailer.createTransport({ ...smtp, pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity, ...dkim } as unknown as TransportOptions);
    await measure(`nodemailer loop (${CONNECTIONS} connections, STARTTLS${signed})`, async (i) => {
      await transport.sendMail({ envelope: { from: 'powiadomienia@duw.example', to: [`bench-${i}@example.pl`] }, raw: message(i) });
    });
    transport.close();
  } finally {
    await postfix.destroy();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();

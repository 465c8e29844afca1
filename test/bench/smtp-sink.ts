/**
 * A minimal SMTP sink for the benchmark: accepts every message (PIPELINING, 8BITMIME), keeps nothing,
 * and reports to its parent (IPC) how many messages it accepted and when the first and last arrived.
 * It runs in its own process so that its CPU use is visible and separate from the sender's.
 */
import { createServer, type Socket } from 'node:net';

let accepted = 0;
let first = 0;
let last = 0;

function handle(socket: Socket): void {
  let buffer = '';
  let inData = false;
  socket.setNoDelay(true);
  socket.write('220 sink ESMTP\r\n');
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    const replies: string[] = [];
    for (;;) {
      if (inData) {
        const end = buffer.indexOf('\r\n.\r\n');
        if (end === -1) {
          if (buffer.length > 8) buffer = buffer.slice(-8);
          break;
        }
        buffer = buffer.slice(end + 5);
        inData = false;
        const now = Date.now();
        if (accepted === 0) first = now;
        accepted += 1;
        last = now;
        replies.push('250 2.0.0 queued');
        continue;
      }
      const eol = buffer.indexOf('\r\n');
      if (eol === -1) break;
      const line = buffer.slice(0, eol);
      buffer = buffer.slice(eol + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') replies.push('250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8');
      else if (verb === 'DATA') {
        replies.push('354 go ahead');
        inData = true;
        buffer = `\r\n${buffer}`; // the terminator may follow at once
      } else if (verb === 'QUIT') {
        socket.end('221 bye\r\n');
        return;
      } else replies.push('250 ok');
    }
    if (replies.length > 0) socket.write(`${replies.join('\r\n')}\r\n`);
  });
  socket.on('error', () => undefined);
}

const server = createServer(handle);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.send?.({ type: 'listening', port });
});
// never outlive the benchmark, even when it crashed
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'reset') {
    accepted = 0;
    first = 0;
    last = 0;
  }
  if (msg.type === 'stats') process.send?.({ type: 'stats', accepted, first, last, cpu: process.cpuUsage() });
  if (msg.type === 'exit') process.exit(0);
});

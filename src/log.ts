import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger } from 'pino';

/** Masks an e-mail address for logs: "jan.kowalski@example.pl" → "j***@example.pl". */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** Creates the single root logger; secrets and tokens are redacted wherever they appear as fields. */
export function createLogger(level: string, pretty = false, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: {
      paths: ['email', '*.email', 'token', '*.token', 'req.headers.authorization', 'req.headers.cookie', 'password', 'secret'],
      censor: '[redacted]',
    },
    ...(pretty && !destination ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  if (destination) return pino(options, destination);
  if (pretty) return pino(options);
  // Asynchronous writes: under load the lines that queue up while one write(2) is in flight go out together;
  // when quiet, each line goes out at once (no minimum buffer, so nothing waits). Flushed at exit.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** The root logger of a process or thread playing `role` (api, worker, all, api-primary, sender): pretty only in development on a terminal. */
export function createRoleLogger(config: Config, role: string): Logger {
  return createLogger(config.LOG_LEVEL, config.NODE_ENV === 'development' && process.stdout.isTTY).child({ role });
}

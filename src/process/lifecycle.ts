import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from '../log.ts';

/** One step of an ordered shutdown. */
export interface ShutdownStep {
  name: string;
  close: () => Promise<void>;
}

/** Starts listening; resolves once the port is bound. */
export function listen(app: Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = 5_000;
  });
}

/** Stops accepting connections and waits for in-flight requests; idle keep-alive sockets close at once. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * On SIGTERM or SIGINT runs the steps in order (stop accepting, finish in-flight work, close
 * connections), each bounded by what is left of the grace period; then exits.
 */
export function installShutdown(log: Logger, graceMs: number, steps: ShutdownStep[]): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + graceMs;
    log.info({ signal, graceMs }, 'shutting down');
    const force = setTimeout(() => {
      log.error('grace period over; exiting with work unfinished (it resumes on the next start)');
      process.exit(1);
    }, graceMs);
    force.unref();
    for (const step of steps) {
      const left = Math.max(0, deadline - Date.now());
      await Promise.race([step.close(), new Promise((r) => setTimeout(r, left).unref())]).catch((err: unknown) =>
        log.warn({ err, step: step.name }, 'shutdown step failed'),
      );
    }
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
}

import { createApp } from '../src/app.ts';
import { boot } from '../src/process/boot.ts';
import { closeDeps } from '../src/deps.ts';
import { createMetricsApp } from '../src/http/metrics-app.ts';
import { closeServer, installShutdown, listen, type ShutdownStep } from '../src/process/lifecycle.ts';
import { senderThreadCount, startSenderThreads } from './sender-threads.ts';
import { startWorkers } from './start.ts';

/**
 * Worker process (`npm run start:worker`), or with --role=all (`npm start`) the API and all workers in
 * one process; both start SENDER_THREADS sender threads to send on every core.
 * Workers import from src/, never the reverse, so the combined entry lives here.
 */
async function main(): Promise<void> {
  const role = process.argv.includes('--role=all') ? 'all' : 'worker';
  const { config, log, deps } = await boot(role);
  const steps: ShutdownStep[] = [];
  if (role === 'all') {
    const server = await listen(createApp(deps), config.PORT);
    log.info({ port: config.PORT, publicUrl: config.PUBLIC_URL }, `Powiadom listening on ${config.PUBLIC_URL}`);
    steps.push({ name: 'http', close: () => closeServer(server) });
  }
  if (role === 'worker' && config.METRICS_PORT) {
    const metricsServer = await listen(createMetricsApp(deps), config.METRICS_PORT);
    log.info({ port: config.METRICS_PORT }, 'serving /metrics of this worker process');
    steps.push({ name: 'metrics http', close: () => closeServer(metricsServer) });
  }
  const running = await startWorkers(deps);
  const senders = startSenderThreads(senderThreadCount(config), running.ctx.renderer.sources, log);
  log.info({ mail: running.ctx.mailer.destination }, config.SMTP_URL ? 'sending e-mail over SMTP' : `writing e-mail to the outbox folder ${running.ctx.mailer.destination}`);
  steps.push(
    { name: 'workers', close: async () => void (await Promise.all([senders.close(), running.close()])) },
    { name: 'connections', close: () => closeDeps(deps) },
  );
  installShutdown(log, config.SHUTDOWN_GRACE_MS, steps);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

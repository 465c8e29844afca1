import cluster from 'node:cluster';
import { joinApiCluster, runApiCluster } from './process/api-cluster.ts';
import { createApp } from './app.ts';
import { boot, prepareDatabase } from './process/boot.ts';
import { loadConfig } from './config.ts';
import { closeDeps } from './deps.ts';
import { closeServer, installShutdown, listen } from './process/lifecycle.ts';
import { createRoleLogger } from './log.ts';
import { logStartup } from './process/startup-report.ts';

/** One API process: serves HTTP only; workers run elsewhere. */
async function serveApi(): Promise<void> {
  if (cluster.isWorker) joinApiCluster();
  const { config, log, deps } = await boot('api');
  const server = await listen(createApp(deps), config.PORT);
  log.info({ port: config.PORT, publicUrl: config.PUBLIC_URL }, 'API listening');
  installShutdown(log, config.SHUTDOWN_GRACE_MS, [
    { name: 'http', close: () => closeServer(server) },
    { name: 'connections', close: () => closeDeps(deps) },
  ]);
}

/** `npm run start:api`: the API in this process, or API_PROCESSES of them sharing PORT (node:cluster). */
async function main(): Promise<void> {
  if (cluster.isPrimary) {
    const config = loadConfig();
    if (config.API_PROCESSES > 1) {
      const log = createRoleLogger(config, 'api-primary');
      logStartup(log, config, 'api');
      await prepareDatabase(config, log); // once, before the processes start
      runApiCluster(log, config.API_PROCESSES, config.SHUTDOWN_GRACE_MS);
      return;
    }
  }
  await serveApi();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

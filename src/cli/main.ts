import { Argument, Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { createPool, ensureDatabase } from '../db/pool.ts';
import { ValidationError } from '../core/errors.ts';
import { AppError } from '../errors.ts';
import { EXIT, note, parseId, print, UsageError, withDeps } from './context.ts';
import { checkAddArguments, runAddOperator, runDisableOperator, runListOperators, runResetOperator, runResetOperatorTotp } from './operators.ts';
import { runPublish } from './publish.ts';
import { runDigestNow, runDigestStatus } from './digests.ts';
import { runRetry } from './retry.ts';
import { runStatus } from './status.ts';
import { runErase, runExport, runFind, runImport, runRevokeLinks } from './subscribers.ts';
import { checkAddSuppression, runAdd, runList, runRemove } from './suppressions.ts';

/** Runs a command on booted dependencies; a returned number is the exit status. */
function act<A extends unknown[]>(work: (deps: Parameters<Parameters<typeof withDeps>[0]>[0], ...args: A) => Promise<number | void>) {
  return async (...args: A) => {
    process.exitCode = (await withDeps((deps) => work(deps, ...args))) ?? EXIT.ok;
  };
}

async function runMigrate(): Promise<void> {
  const config = loadConfig();
  if (await ensureDatabase(config.DATABASE_URL)) print('Created the database.');
  const pool = createPool(config.DATABASE_URL, 1);
  try {
    const applied = await migrate(pool);
    print(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
  } finally {
    await pool.end();
  }
}

function buildProgram(): Command {
  const program = new Command('npm run cli --')
    .description('Powiadom operators’ CLI: works on PostgreSQL and Redis directly (DATABASE_URL, REDIS_URL, QUEUE_PREFIX), no HTTP.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', '\nExit status: 0 done, 1 failed (message on stderr), 2 wrong usage.');
  addArticleCommands(program);
  addSubscriberCommands(program);
  addSuppressionCommands(program);
  addOperatorCommands(program);
  addDigestCommands(program);
  program.command('migrate').description('create the database when missing and apply pending migrations').action(runMigrate);
  return program;
}

/** status, publish, retry. */
function addArticleCommands(program: Command): void {
  program.command('status').description('queues, subscribers and the last 10 articles with their delivery progress').option('--json', 'print the same document as GET /api/stats').action(act((deps, options: { json?: boolean }) => runStatus(deps, options)));
  program
    .command('publish <file>')
    .description('publish an article from a .json file (the POST /api/articles body) or a .md export of the site; notifies subscribers')
    .option('-t, --topic <slug...>', 'topics (default for .md: taken from the URL path, e.g. /dla-mediow/)')
    .option('--no-notify', 'record the article without notifying anyone')
    .option('--force', 'notify even when the article is older than MAX_ARTICLE_AGE_HOURS')
    .action(act((deps, file: string, options: { topic?: string[]; notify: boolean; force?: boolean }) => runPublish(deps, file, options)));
  program
    .command('retry <articleId>')
    .description('send the failed deliveries of an article again (suppressed ones stay)')
    .action((id: string) => {
      const articleId = parseId(id, 'an article'); // before connecting: wrong usage needs no services
      return act((deps) => runRetry(deps, articleId))();
    });
}

/** subscribers import | export | find | erase | revoke-links. */
function addSubscriberCommands(program: Command): void {
  const subscribers = program.command('subscribers').description('import, export, find and erase subscribers');
  subscribers.command('import <file>').description('import active subscribers from .csv (email,topics,lang,consentSource) or .json; exit 1 when some rows were invalid').action(act((deps, file: string) => runImport(deps, file)));
  subscribers
    .command('export')
    .description('print every subscriber to stdout')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .action(act((deps, options: { format: string }) => runExport(deps, options.format)));
  subscribers.command('find <text>').description('an exact address, or a part of one').option('--json', 'print JSON').action(act((deps, text: string, options: { json?: boolean }) => runFind(deps, text, options)));
  subscribers
    .command('erase <id>')
    .description('erase a subscriber (GDPR art. 17); exit 1 when unknown')
    .action((id: string) => {
      const subscriberId = parseId(id, 'a subscriber');
      return act((deps) => runErase(deps, subscriberId))();
    });
  subscribers
    .command('revoke-links <id>')
    .description('void every preferences and unsubscribe link already sent to a subscriber; exit 1 when unknown')
    .action((id: string) => {
      const subscriberId = parseId(id, 'a subscriber');
      return act((deps) => runRevokeLinks(deps, subscriberId))();
    });
}

/** suppressions list | add | remove. */
function addSuppressionCommands(program: Command): void {
  const suppressions = program.command('suppressions').description('the hashed list of addresses that are never mailed');
  suppressions.command('list').description('newest first (hashes only)').option('--limit <n>', 'rows', '50').option('--offset <n>', 'rows to skip', '0').action(act((deps, options: { limit: string; offset: string }) => runList(deps, options)));
  suppressions
    .command('add <email>')
    .description('suppress an address')
    .addOption(new Option('-r, --reason <reason>', 'why').choices(['manual', 'hard_bounce', 'complaint']).makeOptionMandatory())
    .option('-n, --note <text>', 'a note for other operators')
    .action((email: string, options: { reason: string; note?: string }) => {
      checkAddSuppression(email, options.reason);
      return act((deps, e: string, o: { reason: string; note?: string }) => runAdd(deps, e, o))(email, options);
    });
  suppressions.command('remove <emailOrHash>').description('lift a suppression; exit 1 when there is none').action(act((deps, key: string) => runRemove(deps, key)));
}

/** operators add | list | disable | reset. */
function addOperatorCommands(program: Command): void {
  const operators = program.command('operators').description('named accounts of the operators\' console (/admin)');
  operators
    .command('add <email>')
    .description('add an account; prints a one-time link (24 h) where its owner sets a password')
    .addOption(new Option('-r, --role <role>', 'viewer (read only), operator (acts on subscribers and articles), admin (also sections and accounts)').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .action((email: string, options: { role: string }) => {
      const role = checkAddArguments(email, options.role);
      return act((deps) => runAddOperator(deps, email, role))();
    });
  operators.command('list').description('every account with its role and state').action(act((deps) => runListOperators(deps)));
  operators.command('disable <email>').description('disable an account; its sessions end at once').action(act((deps, email: string) => runDisableOperator(deps, email)));
  operators.command('reset <email>').description('a new one-time link to set the password (forgotten password)').action(act((deps, email: string) => runResetOperator(deps, email)));
  operators.command('reset-totp <email>').description('turn off two-step verification (a lost phone); drops the recovery codes').action(act((deps, email: string) => runResetOperatorTotp(deps, email)));
}

/** digest run | status. */
function addDigestCommands(program: Command): void {
  const digest = program.command('digest').description('daily and weekly digests (docs/digests.md)');
  digest
    .command('run')
    .description('run a digest now for everything since the previous run of that frequency')
    .addArgument(new Argument('<frequency>', 'which digest').choices(['daily', 'weekly']))
    .action(act((deps, frequency: 'daily' | 'weekly') => runDigestNow(deps, frequency)));
  digest.command('status').description('recent digest runs with their delivery counts').option('--json', 'print JSON').option('--limit <n>', 'runs', '10').action(act((deps, options: { json?: boolean; limit?: string }) => runDigestStatus(deps, options)));
}

/** Maps any failure onto a message and the documented exit status. */
function exitStatusOf(err: unknown): number {
  if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  if (err instanceof UsageError) {
    note(`${err.message}\n(add --help for usage)`);
    return EXIT.usage;
  }
  note(`Error: ${(err instanceof AppError || err instanceof ValidationError) && err.fields ? `${err.message} ${JSON.stringify(err.fields)}` : (err as Error).message}`);
  return EXIT.error;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitStatusOf(err);
  }
}

await main(process.argv);

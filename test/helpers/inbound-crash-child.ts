// Reads the bounce mailbox once and kills itself with SIGKILL right after the first message's effect is
// committed, before the message is moved: the crash the inbound test proves harmless.
import { parseConfig } from '../../src/config.ts';
import { TokenSigner } from '../../src/core/tokens.ts';
import { createPool } from '../../src/db/pool.ts';
import { ImapPoller } from '../../src/inbound/imap-poller.ts';
import { createVerp } from '../../src/inbound/inbound-config.ts';
import { createInboundService } from '../../src/inbound/inbound-setup.ts';
import { createLogger } from '../../src/log.ts';

const config = parseConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent' });
const log = createLogger('silent');
const pool = createPool(config.DATABASE_URL, 2);
const service = createInboundService(config, pool, new TokenSigner(config.SECRET), log);
const settings = { url: process.env.IMAP_URL!, pollIntervalMs: 60_000, doneFolder: config.INBOUND_DONE_FOLDER, unknownFolder: config.INBOUND_UNKNOWN_FOLDER };
const poller = new ImapPoller(settings, service, createVerp(config), log, { afterCommit: () => process.kill(process.pid, 'SIGKILL') });
await poller.pollOnce();

import { after, before, describe, it } from 'node:test';
import { BROKEN, checkEverywhere, OPERATOR, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';

let w: ConsoleWorld;
before(async () => {
  w = await startConsoleWorld('console-axe-pages', { deliver: false });
});
after(async () => {
  await w?.close();
});

describe('accessibility of the operators\' console: signed-in pages', () => {
  it('overview, subscriber lookup, subscriber, inbound mail and audit log are axe-clean in Polish and English at 360 and 1280 px', async () => {
    // Mail that came back, so the inbound tables and a mailbox error are on the pages checked.
    await w.h.db.pool.query(
      `INSERT INTO inbound_messages (message_key, source, kind, outcome) VALUES ('imap:<a@x>', 'imap', 'bounce', 'suppressed'), ('imap:<b@x>', 'imap', 'unknown', 'unknown'), ('imap:<c@x>', 'imap', 'unknown', 'error')`,
    );
    await w.h.db.pool.query(`INSERT INTO inbound_mailbox_status (mailbox, last_poll_at, last_error) VALUES ('INBOX', now(), 'AUTHENTICATIONFAILED Invalid credentials')`);
    await w.h.db.pool.query(`SELECT powiadom_count_mail('confirmation', 'sent', 12), powiadom_count_mail('welcome', 'deferred', 2)`);
    const context = await w.browser.newContext();
    const page = await signIn(w, context, OPERATOR);
    const { rows } = await w.h.db.pool.query(`SELECT id FROM subscribers WHERE email = $1`, [BROKEN]);
    await checkEverywhere(w, page, '/admin', 'overview');
    await checkEverywhere(w, page, '/admin/subscribers', 'subscriber-lookup');
    await checkEverywhere(w, page, `/admin/subscribers/${rows[0].id}`, 'subscriber');
    await checkEverywhere(w, page, '/admin/inbound', 'inbound');
    await checkEverywhere(w, page, '/admin/audit', 'audit');
    await context.close();
  });
});

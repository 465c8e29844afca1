import { after, before, describe, it } from 'node:test';
import { ADMIN, checkEverywhere, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';

let w: ConsoleWorld;
before(async () => {
  w = await startConsoleWorld('console-axe-lists', { deliver: false });
});
after(async () => {
  await w?.close();
});

describe('accessibility of the operators\' console: sections, suppressions', () => {
  it('sections and suppressions are axe-clean in Polish and English at 360 and 1280 px', async () => {
    const context = await w.browser.newContext();
    const page = await signIn(w, context, ADMIN);
    await w.h.db.pool.query(`INSERT INTO suppressions (email_hash, reason, note) VALUES (repeat('ab', 32), 'complaint', 'skarga telefoniczna')`);
    await checkEverywhere(w, page, '/admin/topics', 'topics');
    await checkEverywhere(w, page, '/admin/suppressions', 'suppressions');
    await context.close();
  });
});

import { after, before, describe, it } from 'node:test';
import { ADMIN, checkEverywhere, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';

let w: ConsoleWorld;
before(async () => {
  w = await startConsoleWorld('console-axe-articles', { deliver: false });
});
after(async () => {
  await w?.close();
});

describe('accessibility of the operators\' console: articles', () => {
  it('articles, one article and the publish form are axe-clean in Polish and English at 360 and 1280 px', async () => {
    const context = await w.browser.newContext();
    const page = await signIn(w, context, ADMIN);
    const { rows } = await w.h.db.pool.query(`SELECT id FROM articles LIMIT 1`);
    await checkEverywhere(w, page, '/admin/articles', 'articles');
    await checkEverywhere(w, page, `/admin/articles/${rows[0].id}`, 'article');
    await checkEverywhere(w, page, '/admin/articles/new', 'article-form');
    await context.close();
  });
});

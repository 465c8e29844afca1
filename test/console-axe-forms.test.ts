import { after, before, describe, it } from 'node:test';
import { checkEverywhere, OPERATOR, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';

let w: ConsoleWorld;
before(async () => {
  w = await startConsoleWorld('console-axe-forms', { deliver: false });
});
after(async () => {
  await w?.close();
});

describe('accessibility of the operators\' console: sign-in, errors', () => {
  it('sign-in, a spent password link, an unknown address and an error page are axe-clean in Polish and English at 360 and 1280 px', async () => {
    const anonymous = await w.browser.newContext();
    await checkEverywhere(w, await anonymous.newPage(), '/admin/sign-in', 'sign-in');
    await checkEverywhere(w, await anonymous.newPage(), '/admin/password/nieaktualny-link-0000000000000', 'password-spent');
    await anonymous.close();
    const context = await w.browser.newContext();
    const page = await signIn(w, context, OPERATOR);
    await checkEverywhere(w, page, '/admin/subscribers?email=nikt%40example.pl', 'subscriber-not-found');
    await checkEverywhere(w, page, '/admin/subscribers/999999', 'error');
    await context.close();
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emailBrand } from '../src/brand/brand.ts';
import { parseConfig } from '../src/config.ts';
import { LANGS } from '../src/i18n.ts';
import { EMAIL_NAMES, EmailRenderer, type EmailName } from '../src/mail/render.ts';
import { eventually, findLink, linkPath, startHarness, type Harness } from './helpers/harness.ts';

// Another office adopts Powiadom by configuration alone: nothing of the default office may remain.
const KRAKOW = {
  PUBLIC_URL: 'https://powiadomienia.krakow.example',
  BRAND_OFFICE_NAME: 'Urząd Miasta Krakowa',
  BRAND_OFFICE_NAME_EN: 'Kraków City Hall',
  BRAND_PRIMARY_COLOR: '#7a1f2b',
  BRAND_HOME_URL: 'https://www.krakow.example',
  BRAND_LOGO_URL: 'https://www.krakow.example/herb.png',
  BRAND_CONTROLLER_NAME: 'Prezydent Miasta Krakowa',
  BRAND_CONTROLLER_NAME_EN: 'The Mayor of Kraków',
  CONFIRM_TOKEN_TTL_DAYS: '2',
  SECRET: 'test-secret-0123456789-0123456789-0123456789',
};
/** Every trace of the default office: names in both languages, its colours, its domain. */
const DEFAULT_TRACES = [/Dolnośl/i, /Lower Silesian/i, /Wrocław/i, /0b4f8a/i, /0b2b4a/i, /083a66/i, /duw\b/i];

const BRAND_LINKS = [
  'https://powiadomienia.krakow.example/informacja-o-danych',
  'https://powiadomienia.krakow.example/privacy',
  'https://powiadomienia.krakow.example/manage',
  'https://powiadomienia.krakow.example/manage?lang=en',
];

const sample = (name: EmailName) => ({
  topicNames: 'Aktualności',
  multipleTopics: false,
  confirmUrl: 'https://powiadomienia.krakow.example/confirm/token-token-token-token-token-token-tok',
  preferencesUrl: 'https://powiadomienia.krakow.example/preferences/token-token-token-token-token-token-t',
  unsubscribeUrl: 'https://powiadomienia.krakow.example/unsubscribe/token-token-token-token-token-token',
  ...(name === 'notification'
    ? { subject: 'Sesja Rady Miasta', title: 'Sesja Rady Miasta', summary: 'Radni spotkali się w sali obrad i omówili budżet miasta na kolejny rok oraz plan inwestycji w dzielnicach.', url: 'https://www.krakow.example/aktualnosci/sesja-rady-miasta-w-sali-obrad-z-bardzo-dlugim-adresem-strony.html', articleLang: 'pl', publishedAt: '1 grudnia 2026 r., godz. 10:00', imageUrl: 'https://www.krakow.example/zdjecie.jpg' }
    : {}),
});

let renderer: EmailRenderer;
before(async () => {
  renderer = await EmailRenderer.create(emailBrand(parseConfig(KRAKOW)));
});

describe('every e-mail under another office\'s brand', () => {
  for (const name of EMAIL_NAMES) {
    for (const lang of LANGS) {
      it(`${name} (${lang}) shows the configured office, colour, logo and links and no trace of the default`, () => {
        const email = renderer.render(name, lang, sample(name));
        for (const part of [email.subject, email.html, email.text]) {
          for (const trace of DEFAULT_TRACES) assert.doesNotMatch(part, trace);
        }
        assert.match(email.html, lang === 'pl' ? /Urząd Miasta Krakowa/ : /Kraków City Hall/);
        assert.match(email.text, lang === 'pl' ? /Urząd Miasta Krakowa/ : /Kraków City Hall/);
        assert.match(email.html, /#7a1f2b/);
        assert.match(email.html, /href="https:\/\/www\.krakow\.example"/);
        assert.match(email.html, /src="https:\/\/www\.krakow\.example\/herb\.png"/);
        assert.match(email.text, lang === 'pl' ? /https:\/\/powiadomienia\.krakow\.example\/informacja-o-danych/ : /https:\/\/powiadomienia\.krakow\.example\/privacy/);
      });
    }
  }
});

describe('the e-mails\' HTML', () => {
  for (const name of EMAIL_NAMES) {
    it(`${name}: color-scheme meta, a button class kept white on the brand colour in dark mode, no height="auto"`, () => {
      const { html } = renderer.render(name, 'pl', sample(name));
      assert.match(html, /<meta name="color-scheme" content="light dark">/);
      assert.match(html, /class="button"/);
      assert.match(html, /\.card \.button td, \.card \.button a, \.card \.button p \{ background-color: #7a1f2b !important; color: #ffffff !important; \}/);
      assert.doesNotMatch(html, /height="auto"/);
    });
  }

  it('marks a Polish article\'s title and summary lang="pl" in an English notification', () => {
    const { html } = renderer.render('notification', 'en', sample('notification'));
    assert.match(html, /<html[^>]+lang="en"/);
    assert.match(html, /<h1 lang="pl"[^>]*>Sesja Rady Miasta<\/h1>/);
    assert.match(html, /<p lang="pl"[^>]*>Radni spotkali/);
  });
});

describe('the e-mails\' text part', () => {
  for (const name of EMAIL_NAMES) {
    for (const lang of LANGS) {
      it(`${name} (${lang}): lines of at most 76 characters, links whole, "-- " signature separator`, () => {
        const { text } = renderer.render(name, lang, sample(name));
        for (const line of text.split('\n')) {
          if (/^https?:\/\/\S+$/.test(line)) continue; // a link longer than the line stays whole on its own line
          assert.ok(line.length <= 76, `line over 76 characters: "${line}"`);
        }
        // A link broken across lines would leave a truncated link that is none of the known ones.
        const known = new Set([...Object.values(sample(name)).filter((v) => typeof v === 'string'), ...BRAND_LINKS]);
        for (const link of text.match(/https?:\/\/\S+/g) ?? []) assert.ok(known.has(link), `link ${link} is broken or unknown`);
        assert.match(text, /\n-- \n/);
      });
    }
  }

  it('states the confirmation link\'s real lifetime (CONFIRM_TOKEN_TTL_DAYS=2)', () => {
    assert.match(renderer.render('confirm', 'pl', sample('confirm')).text, /Link jest ważny przez 2\u00a0dni\.|Link jest ważny przez 2 dni\./);
    assert.match(renderer.render('confirm', 'en', sample('confirm')).text, /The link is valid for 2 days\./);
  });

  it('never lets a Polish one-letter word end a line: a non-breaking space follows it', () => {
    for (const name of EMAIL_NAMES) {
      const { text, html } = renderer.render(name, 'pl', sample(name));
      const ours = text.replace(/Radni spotkali[^\n]*(\n[^\n]+)*/, ''); // the article's own text is the office's
      assert.doesNotMatch(ours, /(^|\s)[wzioauWZIOAU] /m, `${name}: a one-letter word before an ordinary space`);
      assert.doesNotMatch(ours, /(^|\s)[wzioauWZIOAU]\n/m, `${name}: a line ends with a one-letter word`);
      assert.match(html, /\u00a0/);
    }
  });

  it('says "do not reply" without MAIL_REPLY_TO, and invites replies with it', async () => {
    assert.match(renderer.render('welcome', 'pl', sample('welcome')).text, /Nie odpowiadaj na nią/);
    const replying = await EmailRenderer.create(emailBrand(parseConfig({ ...KRAKOW, MAIL_REPLY_TO: 'kontakt@krakow.example' })));
    const { text } = replying.render('welcome', 'pl', sample('welcome'));
    assert.doesNotMatch(text, /Nie odpowiadaj/);
    assert.match(text, /odpowiedz na tę wiadomość/);
  });
});

describe('configuration defaults', () => {
  it('derives MAIL_FROM from the host of PUBLIC_URL', () => {
    assert.equal(parseConfig({ SECRET: KRAKOW.SECRET, PUBLIC_URL: 'https://powiadomienia.krakow.example' }).MAIL_FROM, 'Powiadom <powiadom@powiadomienia.krakow.example>');
    assert.equal(parseConfig({ SECRET: KRAKOW.SECRET, PUBLIC_URL: 'https://a.example', MAIL_FROM: 'Urząd <u@a.example>' }).MAIL_FROM, 'Urząd <u@a.example>');
  });
});

describe('real messages under another brand (parsed by mailparser)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ label: 'visitor-emails', env: { ...KRAKOW, PUBLIC_URL: 'http://powiadom.test', MAIL_FROM: 'Powiadom <powiadom@krakow.example>' } });
  });
  after(async () => {
    await h?.close();
  });

  it('the confirmation, welcome and management-link e-mails carry the brand, and the pages do too', async () => {
    const email = 'mieszkaniec@example.pl';
    assert.equal((await h.http.post('/api/subscriptions').send({ email, consent: true, topics: ['aktualnosci'] })).status, 202);
    const confirm = await eventually(() => h.smtp.to(email)[0], 60_000, 'confirmation');
    assert.equal((await h.http.post(linkPath(findLink(confirm.parsed.text, 'confirm'))).type('form').send({})).status, 200);
    await eventually(() => h.smtp.to(email)[1], 60_000, 'welcome');
    assert.equal((await h.http.post('/api/manage-link').send({ email })).status, 202);
    await eventually(() => h.smtp.to(email)[2], 60_000, 'management link');
    for (const mail of h.smtp.to(email)) {
      const parts = [mail.parsed.subject ?? '', mail.parsed.text ?? '', mail.parsed.html || ''];
      for (const part of parts) for (const trace of DEFAULT_TRACES) assert.doesNotMatch(part, trace, `${mail.parsed.subject}`);
      assert.match(mail.parsed.text ?? '', /Urząd Miasta Krakowa/);
      assert.match(mail.parsed.html || '', /#7a1f2b/);
      assert.match(mail.parsed.text ?? '', /\n-- \n/);
    }
    assert.match(h.smtp.to(email)[0]!.parsed.text ?? '', /ważny przez 2 dni/);
    for (const path of ['/subscribe', '/subscribe?lang=en', '/manage', '/informacja-o-danych', '/privacy', '/deklaracja-dostepnosci', '/accessibility']) {
      const page = await h.http.get(path);
      assert.equal(page.status, 200, path);
      for (const trace of DEFAULT_TRACES) assert.doesNotMatch(page.text, trace, path);
    }
    const form = await h.http.get('/subscribe');
    assert.match(form.text, /Administrator danych: Prezydent Miasta Krakowa\./);
    const privacy = await h.http.get('/informacja-o-danych');
    assert.match(privacy.text, /Administratorem Twoich danych osobowych jest: Prezydent Miasta Krakowa/);
    assert.match(privacy.text, /po 7\u00a0dniach|po 7 dniach/);
  });
});

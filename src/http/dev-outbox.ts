import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import { simpleParser } from 'mailparser';
import type { Deps } from '../deps.ts';
import { translate } from '../i18n.ts';
import { pageLang } from './request-info.ts';

const SHOWN = 50;

/** GET /dev/outbox: the newest .eml files of the local outbox with their links (development only). */
export function devOutboxHandler(deps: Deps) {
  const dir = path.resolve(deps.config.OUTBOX_DIR);
  return async (req: Request, res: Response) => {
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort().reverse().slice(0, SHOWN);
    const messages = await Promise.all(
      files.map(async (file) => {
        const mail = await simpleParser(await readFile(path.join(dir, file)));
        const links = [...new Set((mail.text ?? '').match(/https?:\/\/[^\s<>"]+/g) ?? [])];
        const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '');
        return { file, to, subject: mail.subject ?? '', date: mail.date?.toISOString() ?? '', links };
      }),
    );
    const lang = pageLang(req);
    res.type('html').send(deps.pages.render('outbox', { lang, title: translate(lang, 'pages.outbox.title'), currentUrl: req.originalUrl }, { dir, messages }));
  };
}

import type { Request, Response } from 'express';
import { z } from 'zod';
import { insertSection, listSections, reorderSections, setSectionArchived, updateSection, type SectionInput } from '../db/console-queries.ts';
import { isUniqueViolation } from '../db/pool.ts';
import { conflict, notFound } from '../errors.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { consoleLocals } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import type { ConsoleGuards } from './auth.ts';

const slugParams = z.object({ slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/) });
const optional = (max: number) => z.string().trim().max(max).optional().transform((v) => v || null);
const sectionBody = z.object({ _csrf: z.string(), lang: z.string().optional(), name: z.string().trim().min(1).max(200), nameEn: optional(200), description: optional(1000) });
const addBody = sectionBody.extend({ slug: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and hyphens') });
const plainBody = z.object({ _csrf: z.string(), lang: z.string().optional() });
const moveBody = plainBody.extend({ direction: z.enum(['up', 'down']) });

const toInput = (b: z.infer<typeof sectionBody>): SectionInput => ({ name: b.name, nameEn: b.nameEn, description: b.description });

/** /admin/topics: add, rename (Polish and English), reorder, archive or restore sections (admin role). */
export function sectionRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const h = sectionHandlers(ctx);
  return [
    route({ method: 'get', path: '/topics', before: g.read, handler: (_i, req, res) => h.list(req, res) }),
    route({ method: 'post', path: '/topics', before: g.act('admin'), body: addBody, handler: (i, req, res) => h.add(req, res, i.body) }),
    route({ method: 'post', path: '/topics/:slug', before: g.act('admin'), params: slugParams, body: sectionBody, handler: (i, req, res) => h.rename(req, res, i.params.slug, i.body) }),
    route({ method: 'post', path: '/topics/:slug/move', before: g.act('admin'), params: slugParams, body: moveBody, handler: (i, req, res) => h.move(req, res, i.params.slug, i.body.direction) }),
    route({ method: 'post', path: '/topics/:slug/archive', before: g.act('admin'), params: slugParams, body: plainBody, handler: (i, req, res) => h.archive(req, res, i.params.slug, true) }),
    route({ method: 'post', path: '/topics/:slug/restore', before: g.act('admin'), params: slugParams, body: plainBody, handler: (i, req, res) => h.archive(req, res, i.params.slug, false) }),
  ];
}

function sectionHandlers(ctx: ConsoleContext) {
  const { pool } = ctx.deps;
  const back = (req: Request, res: Response, done: string) => res.redirect(303, consoleHref('/admin/topics', consoleLang(req), { done }));
  const record = (res: Response, action: string, slug: string, detail: Record<string, unknown> = {}) => ctx.audit.record(consoleLocals(res).actor, action, { type: 'topic', id: slug }, detail);

  return {
    /** Every section with its forms. */
    async list(req: Request, res: Response) {
      sendPage(ctx, req, res, 'topics', { title: 'topics.title', nav: 'topics' }, { sections: await listSections(pool) });
    },

    /** Adds a section with its Polish and English name. */
    async add(req: Request, res: Response, body: z.infer<typeof addBody>) {
      try {
        await insertSection(pool, body.slug, toInput(body));
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('A section with this slug exists.');
        throw err;
      }
      await record(res, 'topic.add', body.slug, { name: body.name, nameEn: body.nameEn });
      back(req, res, 'added');
    },

    /** Renames a section. */
    async rename(req: Request, res: Response, slug: string, body: z.infer<typeof sectionBody>) {
      if (!(await updateSection(pool, slug, toInput(body)))) throw notFound('Section');
      await record(res, 'topic.rename', slug, { name: body.name, nameEn: body.nameEn });
      back(req, res, 'renamed');
    },

    /** Moves a section one place up or down among the open ones. */
    async move(req: Request, res: Response, slug: string, direction: 'up' | 'down') {
      const slugs = (await listSections(pool)).filter((s) => !s.archived_at).map((s) => s.slug);
      const at = slugs.indexOf(slug);
      if (at < 0) throw notFound('Section');
      const to = direction === 'up' ? at - 1 : at + 1;
      if (to >= 0 && to < slugs.length) [slugs[at], slugs[to]] = [slugs[to]!, slugs[at]!];
      await reorderSections(pool, slugs);
      await record(res, 'topic.move', slug, { direction });
      back(req, res, 'moved');
    },

    /** Archives (hidden from the form, subscriptions kept) or restores a section. */
    async archive(req: Request, res: Response, slug: string, archived: boolean) {
      if (!(await setSectionArchived(pool, slug, archived))) throw notFound('Section');
      await record(res, archived ? 'topic.archive' : 'topic.restore', slug);
      back(req, res, archived ? 'archived' : 'restored');
    },
  };
}

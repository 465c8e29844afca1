import { z } from 'zod';
import { emailProblem } from '../core/email-address.ts';
import { OPERATOR_REASONS } from '../core/suppressions.ts';

/** An e-mail address within RFC 5321 limits, free of control characters. */
export const emailField = z
  .string({ error: 'is required' })
  .max(1000, 'is too long')
  .superRefine((value, ctx) => {
    const problem = emailProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'is not a valid topic');
const lang = z.enum(['pl', 'en'], { error: 'must be pl or en' });
/** How often a subscriber hears from us (docs/digests.md). */
export const frequencyField = z.enum(['immediate', 'daily', 'weekly'], { error: 'must be immediate, daily or weekly' });
// A ticked HTML checkbox arrives as one of these strings; anything else means not ticked.
const checkedConsent = z.preprocess(
  (v) => (v === true || (typeof v === 'string' && ['on', 'true', '1', 'yes'].includes(v)) ? true : v),
  z.literal(true, { error: 'consent is required' }),
);
// HTML forms send one value as a string and several as an array.
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item.transform((v) => [v]), z.array(item)]);

/** POST /api/subscriptions as JSON. */
export const subscribeJsonSchema = z.object({
  email: emailField,
  topics: z.array(slug).max(100).optional(),
  lang: lang.default('pl'),
  consent: z.literal(true, { error: 'consent is required' }),
  frequency: frequencyField.optional(),
});

/** POST /api/subscriptions from the HTML form (form-encoded). */
export const subscribeFormSchema = z.object({
  email: emailField,
  topics: oneOrMany(slug).optional(),
  lang: lang.default('pl'),
  consent: checkedConsent,
  source: z.string().max(100).optional(),
  frequency: frequencyField.optional(),
});

/** POST /manage (form) and POST /api/manage-link (JSON): only the address. */
export const manageLinkSchema = z.object({ email: emailField, lang: lang.optional() });

/** A link token in the path. */
export const tokenParams = z.object({ token: z.string().max(200) });

/** POST /preferences/:token (form). */
export const preferencesFormSchema = z.object({
  topics: oneOrMany(slug).optional().default([]),
  lang: lang.default('pl'),
  frequency: frequencyField.optional(),
});

/** POST /api/topics. */
export const topicSchema = z.object({
  slug,
  name: z.string().trim().min(1, 'is required').max(200),
});

/** :slug in the path. */
export const slugParams = z.object({ slug });

/** :name of a queue in the path. */
export const queueNameParams = z.object({ name: z.string().min(1).max(100) });

/** :id in the path. */
export const idParams = z.object({ id: z.coerce.number().int().positive('is not a valid id') });

/** GET /api/subscribers?email= */
export const subscriberSearchQuery = z.object({ email: z.string().min(1, 'is required').max(254) });

/** ?lang= on pages. */
export const langQuery = z.object({ lang: lang.optional().catch(undefined), topic: z.string().max(64).optional() }).passthrough();

/** ?limit=&offset= of a paginated list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
  offset: z.coerce.number().int().min(0, 'must not be negative').default(0),
});

/** GET /api/suppressions?email=&limit=&offset= */
export const suppressionListQuery = pageQuery.extend({ email: emailField.optional() });

/** POST /api/webhooks/bounce */
export const bounceSchema = z.object({
  email: emailField,
  type: z.enum(['hard', 'soft', 'complaint'], { error: 'must be hard, soft or complaint' }),
});

/** POST /api/suppressions ('erased' is reserved for erasure). */
export const suppressionSchema = z.object({
  email: emailField,
  reason: z.enum(OPERATOR_REASONS, { error: 'must be manual, hard_bounce or complaint' }),
  note: z.string().trim().max(500, 'must be at most 500 characters').optional(),
});

/** :email in DELETE /api/suppressions/:email: an address or the 64-hex hash the list shows. */
export const suppressionParams = z.object({
  email: z.string().refine((v) => /^[0-9a-f]{64}$/i.test(v) || emailProblem(v) === null, 'is neither an e-mail address nor an address hash'),
});

const httpUrl = z
  .string({ error: 'is required' })
  .max(2000, 'is too long')
  .refine((v) => /^https?:\/\/[^\s]+$/i.test(v) && URL.canParse(v), { message: 'must be an http(s) URL' });

/** POST /api/articles. */
export const articleSchema = z.object({
  guid: z.string().trim().min(1).max(2000).optional(),
  url: httpUrl,
  title: z.string({ error: 'is required' }).trim().min(1, 'is required').max(500),
  summary: z.string().max(5000).nullish(),
  publishedAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).nullish(),
  topics: z.array(slug).min(1, 'must name at least one topic').max(20),
  imageUrl: httpUrl.nullish(),
  lang: lang.optional(),
  source: z.string().max(200).nullish(),
  /** notify even when older than MAX_ARTICLE_AGE_HOURS (and notify now a known article recorded without) */
  force: z.boolean({ error: 'must be true or false' }).optional(),
});

/** POST /api/digests/run */
export const digestRunSchema = z.object({ frequency: z.enum(['daily', 'weekly'], { error: 'must be daily or weekly' }) });

/** GET /api/digests?limit= */
export const digestListQuery = z.object({ limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(20) });

/** GET /api/articles?page=&perPage= */
export const articleListQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  perPage: z.coerce.number().int().min(1).max(100).default(20),
});

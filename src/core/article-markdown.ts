import type { ArticleInput } from './articles.ts';

/** Time zone of the office's site: its dates ("28.04.2024, 01:03") are local time there. */
export const SITE_TIME_ZONE = 'Europe/Warsaw';

/** Offset of a time zone from UTC at an instant, in minutes (Warsaw: +60 in winter, +120 in summer). */
export function zoneOffsetMinutes(instant: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

/** Parses the site's "DD.MM.YYYY, HH:MM" local date into an instant, or null when there is none. */
export function parseSiteDate(text: string, timeZone = SITE_TIME_ZONE): Date | null {
  const m = /\b(\d{1,2})\.(\d{1,2})\.(\d{4}),?\s+(\d{1,2}):(\d{2})\b/.exec(text);
  if (!m) return null;
  const [day, month, year, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const wallClock = Date.UTC(year, month - 1, day, hour, minute);
  // First guess with the offset at the wall-clock instant, then correct once around DST changes.
  let instant = wallClock - zoneOffsetMinutes(new Date(wallClock), timeZone) * 60_000;
  instant = wallClock - zoneOffsetMinutes(new Date(instant), timeZone) * 60_000;
  return new Date(instant);
}

/** The topic named by an article URL's path (".../dla-mediow/aktualnosc/..." → "dla-mediow"), among known slugs. */
export function topicFromUrl(url: string, knownTopics: readonly string[]): string | null {
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  return segments.find((s) => knownTopics.includes(s)) ?? null;
}

/** Paragraphs of a markdown text: blocks separated by blank lines, trimmed. */
function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * Reads an article exported from the office's site as markdown: `# source`, the URL in angle brackets,
 * the date, then `## title` and the body, whose first paragraph is the summary. Topics are the caller's.
 */
export function parseArticleMarkdown(text: string): Omit<ArticleInput, 'topics'> {
  const normalized = text.replace(/\r\n?/g, '\n');
  const title = /^##\s+(.+?)\s*$/m.exec(normalized)?.[1];
  const url = /<(https?:\/\/[^>\s]+)>/.exec(normalized)?.[1];
  if (!title || !url) throw new Error(`The markdown has no ${title ? 'source URL in angle brackets' : '"## " title'}.`);
  const source = /^#\s+(.+?)\s*$/m.exec(normalized)?.[1] ?? null;
  const afterTitle = normalized.slice(normalized.indexOf(`## ${title}`) + title.length + 3);
  const summary = paragraphs(afterTitle).find((p) => !/^(#|\[|---|fot\.)/.test(p)) ?? null;
  const header = normalized.slice(0, normalized.indexOf(`## ${title}`));
  const published = parseSiteDate(header);
  return { url, title, summary: summary?.replace(/\s*\n\s*/g, ' ') ?? null, publishedAt: published?.toISOString() ?? null, source, lang: 'pl' };
}

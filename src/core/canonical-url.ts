/** Query parameters that only track a click and never change what a link points at. */
const TRACKING = /^(utm_[a-z0-9_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|yclid|igshid)$/i;

/**
 * The URL an article is recognised by: scheme and host in lower case, no default port, no fragment,
 * no tracking parameters, no trailing slash. Two publications of one article (the office's markdown
 * through the CLI, the same article as JSON) differ in exactly such details.
 */
export function canonicalUrl(raw: string): string {
  const url = new URL(raw.trim());
  url.hash = '';
  for (const name of [...url.searchParams.keys()]) if (TRACKING.test(name)) url.searchParams.delete(name);
  url.pathname = url.pathname.replace(/\/+$/, '') || '/';
  // URL already lower-cases the scheme and host and drops a default port.
  const query = url.searchParams.toString();
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}${query ? `?${query}` : ''}`;
}

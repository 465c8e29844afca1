// Implements core's FeedFetcher port over http(s): an outbound HTTP adapter, so it lives outside core.
import type { FeedFetcher, FeedValidators, FetchedFeed } from '../core/feeds.ts';
import { hasInternalHost } from '../core/private-address.ts';

/** A feed could not be fetched: the message says why and goes to feeds.last_error. */
export class FeedFetchError extends Error {
  override name = 'FeedFetchError';
}

/** Bounds of one feed request. */
export interface FetchLimits {
  /** whole request, redirects and body included */
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

/** 15 s, 5 MiB, 3 redirects: generous for a news feed, small enough for a worker. */
export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 15_000, maxBytes: 5 * 1024 * 1024, maxRedirects: 3 };

const ACCEPT = 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5';

function checkScheme(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FeedFetchError(`refused a non-http(s) URL (${url.protocol})`);
}

/** Fetches feeds over http(s) with conditional GET, a timeout, a size cap and checked redirects. */
export class HttpFeedFetcher implements FeedFetcher {
  constructor(
    private readonly limits: FetchLimits = DEFAULT_FETCH_LIMITS,
    private readonly userAgent = 'Powiadom feed watcher',
    /** whether a URL's host is internal (loopback, private, link-local); replaceable in tests */
    private readonly isInternal: (url: URL) => Promise<boolean> = hasInternalHost,
  ) {}

  async fetchFeed(url: string, validators: FeedValidators): Promise<FetchedFeed> {
    const signal = AbortSignal.timeout(this.limits.timeoutMs);
    let current = new URL(url);
    try {
      // A feed configured on an internal address may redirect within it; a public one never into it
      // (a compromised CMS must not make the worker fetch 127.0.0.1, the LAN or cloud metadata).
      const internalAllowed = await this.isInternal(current);
      for (let hop = 0; ; hop++) {
        checkScheme(current);
        const res = await fetch(current, { redirect: 'manual', signal, headers: this.headers(validators) });
        if (res.status === 304) return { notModified: true };
        if (res.status >= 300 && res.status < 400) {
          await res.body?.cancel();
          const location = res.headers.get('location');
          if (!location) throw new FeedFetchError(`HTTP ${res.status} without a Location`);
          if (hop >= this.limits.maxRedirects) throw new FeedFetchError(`more than ${this.limits.maxRedirects} redirects`);
          current = new URL(location, current);
          if (!internalAllowed && (await this.isInternal(current))) throw new FeedFetchError(`refused a redirect to an internal address (${current.hostname})`);
          continue;
        }
        if (!res.ok) {
          await res.body?.cancel();
          throw new FeedFetchError(`HTTP ${res.status}`);
        }
        const bytes = await this.readCapped(res);
        return { notModified: false, body: decodeFeed(bytes, res.headers.get('content-type')), etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified') };
      }
    } catch (err) {
      if (err instanceof FeedFetchError) throw err;
      if (signal.aborted) throw new FeedFetchError(`no complete answer within ${this.limits.timeoutMs} ms`);
      const cause = (err as Error & { cause?: Error }).cause?.message;
      throw new FeedFetchError(`request failed: ${(err as Error).message}${cause ? ` (${cause})` : ''}`);
    }
  }

  private headers(validators: FeedValidators): Record<string, string> {
    const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': this.userAgent };
    if (validators.etag) headers['if-none-match'] = validators.etag;
    if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
    return headers;
  }

  /** Reads the body, giving up as soon as it passes the cap (a declared Content-Length is checked first). */
  private async readCapped(res: Response): Promise<Buffer> {
    const tooBig = () => new FeedFetchError(`body larger than ${this.limits.maxBytes} bytes`);
    if (Number(res.headers.get('content-length') ?? 0) > this.limits.maxBytes) {
      await res.body?.cancel();
      throw tooBig();
    }
    if (!res.body) return Buffer.alloc(0);
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return Buffer.concat(chunks);
      total += value.byteLength;
      if (total > this.limits.maxBytes) {
        await reader.cancel();
        throw tooBig();
      }
      chunks.push(value);
    }
  }
}

/** Decodes a feed body: charset from Content-Type, else the XML declaration, else UTF-8 (Polish feeds may be ISO-8859-2). */
export function decodeFeed(bytes: Buffer, contentType: string | null): string {
  const declared =
    /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1] ??
    /^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)["']/i.exec(bytes.subarray(0, 200).toString('latin1'))?.[1] ??
    'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(declared);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(bytes);
}

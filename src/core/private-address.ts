import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

// Ranges that reach this machine or the office's own network, never the public web.
const INTERNAL_RANGES = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private', 'reserved', 'uniqueLocal']);

/** True for an IP address of loopback, private, link-local (cloud metadata 169.254.169.254) or another internal range. */
export function isInternalAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return INTERNAL_RANGES.has(parsed.range());
}

/**
 * True when a URL's host is, or resolves to, an internal address (any of its addresses). A name that
 * does not resolve is not internal: the request itself then fails with its own error.
 */
export async function hasInternalHost(url: URL): Promise<boolean> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host)) return isInternalAddress(host);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  try {
    return (await lookup(host, { all: true })).some((a) => isInternalAddress(a.address));
  } catch {
    return false;
  }
}

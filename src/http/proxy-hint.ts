import { BlockList, isIPv4 } from 'node:net';
import type { RequestHandler } from 'express';
import type { Logger } from '../log.ts';

/** Loopback, private and link-local networks: where a reverse proxy in front of us usually sits. */
const PRIVATE_NETWORKS = new BlockList();
for (const [net, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16]] as const) {
  PRIVATE_NETWORKS.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE_NETWORKS.addSubnet(net, prefix, 'ipv6');

/** True for a loopback, private or link-local address (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const plain = address.replace(/^::ffff:/i, '');
  return PRIVATE_NETWORKS.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
}

/**
 * Used only while TRUST_PROXY is off: the first request that comes from a private address with an
 * X-Forwarded-For header means a reverse proxy is in front, so every visitor would share the proxy's
 * address (per-IP limits hit everyone at once, logs show one IP). Warns once per process, changes nothing.
 */
export function proxyHint(log: Logger): RequestHandler {
  let warned = false;
  return (req, _res, next) => {
    const peer = req.socket.remoteAddress;
    if (!warned && req.headers['x-forwarded-for'] !== undefined && peer !== undefined && isPrivateAddress(peer)) {
      warned = true;
      log.warn({ peer }, 'requests arrive with X-Forwarded-For from a private address, but TRUST_PROXY is not set: behind a reverse proxy every visitor shares its address (per-IP limits, logs). Set TRUST_PROXY=1 (one proxy) or the proxy\'s address.');
    }
    next();
  };
}

import type { HttpRequest, HttpResponse } from '../uws-types.js';

/**
 * The peer address of a request, as text. Read synchronously in the handler. The JavaScript
 * shim does not implement it; per-address limits then share one 'unknown' bucket.
 */
export function remoteAddressOf(res: HttpResponse): string {
  try {
    return Buffer.from(res.getRemoteAddressAsText()).toString() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What an address in X-Forwarded-For may look like (IPv4, IPv6, optionally bracketed). */
const ADDRESS = /^\[?[0-9A-Fa-f:.]{2,45}\]?$/;

/**
 * The client's address for per-address limits. With `trustedProxyHops` = 0 it is the TCP peer.
 * Behind N reverse proxies (an Ingress, a load balancer) that each append the address they got
 * the request from to X-Forwarded-For, the peer is the last proxy and the client is N places
 * from the right of `X-Forwarded-For, peer`: entries further left were written by the client
 * and could be anything, so they are never believed. Without the header (or with a malformed
 * entry) the peer is used. Read synchronously in the handler (`req` dies after it returns).
 */
export function clientAddressOf(res: HttpResponse, req: HttpRequest, trustedProxyHops: number): string {
  const peer = remoteAddressOf(res);
  if (trustedProxyHops <= 0) return peer;
  return clientAddressFrom(req.getHeader('x-forwarded-for'), peer, trustedProxyHops);
}

/** The pure part of clientAddressOf, for a header value already read. */
export function clientAddressFrom(forwardedFor: string, peer: string, trustedProxyHops: number): string {
  if (trustedProxyHops <= 0 || forwardedFor === '') return peer;
  const chain = forwardedFor.split(',').map((entry) => entry.trim());
  chain.push(peer);
  const candidate = chain[Math.max(0, chain.length - 1 - trustedProxyHops)]!;
  return ADDRESS.test(candidate) ? candidate.replace(/^\[|\]$/g, '') : peer;
}

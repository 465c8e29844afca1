import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createLogger } from '../src/log.ts';
import { errorMiddleware } from '../src/http/error-middleware.ts';
import { PageRenderer } from '../src/http/pages.ts';
import { requestLog, requestLogger } from '../src/http/request-log.ts';
import { eventually } from './helpers/harness.ts';

// The request logger alone, on a small Express app: no database or queue is involved.
type Line = Record<string, unknown> & { req?: { id?: string; method?: string; url?: string }; res?: { statusCode?: number } };

const lines: Line[] = [];
const app = express();
app.use(requestLogger(createLogger('info', false, { write: (line: string) => void lines.push(JSON.parse(line) as Line) })));
app.get('/healthz', (_req, res) => void res.send('ok'));
app.get('/preferences/:token', (req, res) => {
  requestLog(req)!.info('handler line');
  res.send('page');
});
app.get('/fails', (_req, res) => void res.status(500).json({ error: { code: 'internal' } }));
// Resolves when /slow has a request: the client gives up only once the server has it.
let slowArrived: () => void = () => undefined;
app.get('/slow', (_req, res) => {
  slowArrived();
  setTimeout(() => res.send('late'), 1_000);
});
app.get('/api/throws', () => {
  throw new Error('boom in a handler');
});

let server: http.Server;
before(async () => {
  const brand = { officeName: { pl: 'Urząd', en: 'Office' }, serviceName: 'Powiadom', homeUrl: '/subscribe', logoUrl: '/static/logo.svg' };
  app.use(errorMiddleware(await PageRenderer.create(brand)));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const linesOf = (reqId: string) => lines.filter((l) => l.reqId === reqId);

describe('the request log', () => {
  it('echoes a plain X-Request-Id and replaces any other with a UUID', async () => {
    const kept = await request(server).get('/healthz').set('X-Request-Id', 'site-42_a');
    assert.equal(kept.headers['x-request-id'], 'site-42_a');
    const replaced = await request(server).get('/healthz').set('X-Request-Id', 'not a plain token; <script>');
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const fresh = await request(server).get('/healthz');
    assert.notEqual(fresh.headers['x-request-id'], replaced.headers['x-request-id']);
  });

  it('writes one completion line per request, the link token and query removed, and gives handlers a logger with the id', async () => {
    const res = await request(server).get('/preferences/secret-token-value?lang=en&email=a@b.pl').expect(200);
    const reqId = res.headers['x-request-id'] as string;
    const own = await eventually(() => (linesOf(reqId).length === 2 ? linesOf(reqId) : null), 2_000, 'both lines');
    assert.equal(own[0]!.msg, 'handler line');
    const done = own[1]!;
    assert.equal(done.msg, 'request completed');
    assert.equal(done.level, 30);
    assert.deepEqual(done.req, { id: reqId, method: 'GET', url: '/preferences/[token]' });
    assert.deepEqual(done.res, { statusCode: 200 });
    assert.equal(typeof done.responseTime, 'number');
    assert.ok(!JSON.stringify(lines).includes('secret-token-value'), 'no token in any line');
    assert.ok(!JSON.stringify(lines).includes('a@b.pl'), 'no query string in any line');
  });

  it('logs a 5xx answer at error level', async () => {
    const res = await request(server).get('/fails').expect(500);
    const line = await eventually(() => linesOf(res.headers['x-request-id'] as string)[0], 2_000, 'the line');
    assert.equal(line.level, 50);
    assert.equal(line.msg, 'request errored');
    assert.deepEqual(line.res, { statusCode: 500 });
  });

  it('logs an unknown error with the request id and answers a generic 500', async () => {
    const res = await request(server).get('/api/throws').expect(500);
    assert.deepEqual(res.body, { error: { code: 'internal', message: 'Internal server error.' } });
    const own = await eventually(() => (linesOf(res.headers['x-request-id'] as string).length === 2 ? linesOf(res.headers['x-request-id'] as string) : null), 2_000, 'both lines');
    assert.equal(own[0]!.msg, 'request failed');
    assert.equal((own[0]!.err as { message?: string }).message, 'boom in a handler');
    assert.equal(own[1]!.msg, 'request errored');
  });

  it('leaves health checks out of the log', async () => {
    const res = await request(server).get('/healthz').expect(200);
    await request(server).get('/fails'); // a later request's line proves the health check's would have come
    await eventually(() => lines.some((l) => l.req?.url === '/fails' && l.reqId !== res.headers['x-request-id']), 2_000, 'a later line');
    assert.deepEqual(linesOf(res.headers['x-request-id'] as string), []);
  });

  it('logs a request the client gave up on as aborted', async () => {
    const { port } = server.address() as AddressInfo;
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const client = http.get({ host: '127.0.0.1', port, path: '/slow', headers: { 'X-Request-Id': 'gave-up' } });
    client.on('error', () => undefined);
    await arrived;
    client.destroy();
    const line = await eventually(() => linesOf('gave-up')[0], 2_000, 'the aborted line');
    assert.equal(line.msg, 'request aborted');
    assert.equal(line.req?.url, '/slow');
  });
});

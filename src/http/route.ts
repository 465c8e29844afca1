import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { parseInput } from './validate.ts';

/** Validated input handed to a handler. */
export interface Input<B, P, Q> {
  body: B;
  params: P;
  query: Q;
}

/** One row of the route table. */
export interface RouteSpec<B = unknown, P = unknown, Q = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  /** Middlewares that run before validation (auth, rate limits, body parsers). */
  before?: RequestHandler[];
  body?: z.ZodType<B>;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** Errors of this route render as an HTML page (browser-facing routes). */
  html?: boolean | ((req: Request) => boolean);
  handler: (input: Input<B, P, Q>, req: Request, res: Response) => Promise<void> | void;
}

/** Declares a route with typed, validated input. */
export function route<B = undefined, P = Record<string, string>, Q = Record<string, unknown>>(spec: RouteSpec<B, P, Q>): RouteSpec {
  return spec as RouteSpec;
}

function runHandler(spec: RouteSpec): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const input = {
        body: spec.body ? parseInput(spec.body, req.body ?? {}) : undefined,
        params: spec.params ? parseInput(spec.params, req.params) : req.params,
        query: spec.query ? parseInput(spec.query, req.query) : req.query,
      };
      await spec.handler(input, req, res);
    } catch (err) {
      next(err);
    }
  };
}

/** Mounts the route table on a router. */
export function mountRoutes(router: Router, routes: RouteSpec[]): void {
  for (const spec of routes) {
    const markHtml: RequestHandler = (req, res, next) => {
      res.locals.htmlErrors = typeof spec.html === 'function' ? spec.html(req) : spec.html === true;
      next();
    };
    router[spec.method](spec.path, markHtml, ...(spec.before ?? []), runHandler(spec));
  }
}

import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { asAppError } from './domain-errors.ts';
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
  /** The route takes only requests this accepts; the others go on to the next route of the same path. */
  accepts?: (req: Request) => boolean;
  /**
   * A browser form's answer to refused input: called instead of the error page when the body fails its
   * schema or the handler refuses the input (core's ValidationError, or any 400 invalid_request), with the
   * refused fields; it redraws the form.
   */
  refused?: (fields: Record<string, string> | undefined, req: Request, res: Response) => Promise<void> | void;
  handler: (input: Input<B, P, Q>, req: Request, res: Response) => Promise<void> | void;
}

/** The fields of refused input (schema, ValidationError, 400 invalid_request), or null for any other error. */
function refusedInput(err: unknown): { fields: Record<string, string> | undefined } | null {
  const appError = asAppError(err);
  return appError?.status === 400 && appError.code === 'invalid_request' ? { fields: appError.fields } : null;
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
      const refused = spec.refused ? refusedInput(err) : null;
      if (!refused || !spec.refused) return next(err);
      await Promise.resolve(spec.refused(refused.fields, req, res)).catch(next);
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
    const accepts: RequestHandler[] = spec.accepts ? [(req, _res, next) => (spec.accepts!(req) ? next() : next('route'))] : [];
    router[spec.method](spec.path, ...accepts, markHtml, ...(spec.before ?? []), runHandler(spec));
  }
}

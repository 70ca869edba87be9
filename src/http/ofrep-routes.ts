import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { evaluateFlag, validateContext, type EvaluationContext } from '../core/flag-evaluation';
import type { FlagStore } from '../core/flags';
import { readBody, sameText, sendJson } from './http-body';
import type { OpsRoute } from './ops-routes';

/**
 * The OpenFeature Remote Evaluation Protocol (https://github.com/open-feature/protocol,
 * service/openapi.yaml) over Shipmate's own flags. Each environment has its own key, sent as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`; the key decides which environment's flags
 * are evaluated.
 */

export const OFREP_BULK_PATH = '/ofrep/v1/evaluate/flags';
export const OFREP_FLAG_PATH = `${OFREP_BULK_PATH}/:key`;
const MAX_BODY = 64 * 1024;

type Body = { context: EvaluationContext } | { status: number; errorCode: string; errorDetails: string };

const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted, so that equal contexts hash alike whatever their key order. */
function canonical(value: unknown): string {
  // Contexts reach here at most MAX_CONTEXT_DEPTH deep, so the recursion is bounded.
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The environment whose key the request carries. Every key is compared, in constant time, so timing tells nothing. */
function environmentOf(req: IncomingMessage, keys: Record<string, string>): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1]?.trim();
  const given = bearer ?? (typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined);
  if (!given) return undefined;
  const givenDigest = digestOf(given);
  let found: string | undefined;
  for (const [environment, key] of Object.entries(keys)) {
    if (key && sameText(givenDigest, digestOf(key)) && found === undefined) found = environment;
  }
  return found;
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
  res.end(JSON.stringify({ errorDetails: "Authorization: Bearer <the environment's OFREP key> is missing or wrong" }));
}

/** The request's context, or the status and OFREP error code to answer with. An empty body is an empty request. */
async function contextOf(req: IncomingMessage): Promise<Body> {
  const text = await readBody(req, MAX_BODY);
  if (text === undefined) return { status: 400, errorCode: 'INVALID_CONTEXT', errorDetails: `the body is larger than ${MAX_BODY} bytes` };
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      return { status: 400, errorCode: 'PARSE_ERROR', errorDetails: 'the body is not JSON' };
    }
  }
  if (nestedDeeperThan(json, MAX_CONTEXT_DEPTH)) {
    return { status: 400, errorCode: 'INVALID_CONTEXT', errorDetails: `the context is nested deeper than ${MAX_CONTEXT_DEPTH} levels` };
  }
  const result = validateContext(json);
  return 'context' in result ? result : { status: 400, ...result };
}

/** Far deeper than any real context, and shallow enough for everything that walks one recursively. */
const MAX_CONTEXT_DEPTH = 64;

/** Measured without recursion: the value may be nested as deep as its 64 KB allow. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Bolt's HTTPReceiver puts path parameters on `req.params`; a server without them leaves the key in the path. */
function flagKeyOf(req: IncomingMessage): string | undefined {
  const fromParams = (req as IncomingMessage & { params?: Record<string, string> }).params?.key;
  if (fromParams) return fromParams;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const raw = path.startsWith(`${OFREP_BULK_PATH}/`) ? path.slice(OFREP_BULK_PATH.length + 1).replace(/\/$/, '') : '';
  try {
    return raw ? decodeURIComponent(raw) : undefined;
  } catch {
    return undefined;
  }
}

/** An If-None-Match list (`"a", W/"b"` or `*`) compared weakly with the entity tag, as RFC 9110 asks. */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/**
 * `POST /ofrep/v1/evaluate/flags/:key` (one flag, for server providers) and
 * `POST /ofrep/v1/evaluate/flags` (every flag of the environment, with an ETag, for client providers).
 */
export function createOfrepRoutes(deps: { flags: FlagStore; keys: Record<string, string> }): OpsRoute[] {
  const evaluateOne = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const key = flagKeyOf(req) ?? '';
    try {
      const environment = environmentOf(req, deps.keys);
      if (!environment) return unauthorized(res);
      const body = await contextOf(req);
      if ('status' in body) return sendJson(res, body.status, { key, errorCode: body.errorCode, errorDetails: body.errorDetails });
      const flag = key ? deps.flags.get(key, environment) : undefined;
      if (!flag) return sendJson(res, 404, { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `no flag ${key} in ${environment}` });
      const result = evaluateFlag(flag, body.context);
      if ('errorCode' in result) return sendJson(res, result.errorCode === 'GENERAL' ? 500 : 400, result);
      return sendJson(res, 200, { ...result, metadata: { environment, version: flag.version } });
    } catch {
      // The provider reads a 500 as an evaluation error only when it names the key and a code.
      if (!res.headersSent) sendJson(res, 500, { key, errorCode: 'GENERAL', errorDetails: 'internal error' });
    }
  };

  const evaluateAll = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const environment = environmentOf(req, deps.keys);
      if (!environment) return unauthorized(res);
      const body = await contextOf(req);
      if ('status' in body) return sendJson(res, body.status, { errorCode: body.errorCode, errorDetails: body.errorDetails });
      const flags = deps.flags.list(environment).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      // The revision names the state; the versions of each flag also tell when one goes away, which can bring back an earlier revision.
      const state = flags.map((f) => `${f.key}@${f.version}`).join('\n');
      const etag = `"${deps.flags.revision(environment)}-${digestOf(`${environment}\u0000${state}\u0000${canonical(body.context)}`).slice(0, 32)}"`;
      const ifNoneMatch = req.headers['if-none-match'];
      if (noneMatch(Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch, etag)) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      const results = flags.map((flag) => {
        const result = evaluateFlag(flag, body.context);
        return 'errorCode' in result ? result : { ...result, metadata: { environment, version: flag.version } };
      });
      res.writeHead(200, { 'content-type': 'application/json', etag });
      res.end(JSON.stringify({ flags: results }));
    } catch {
      if (!res.headersSent) sendJson(res, 500, { errorDetails: 'internal error' });
    }
  };

  return [
    { path: OFREP_FLAG_PATH, method: ['POST'], handler: evaluateOne },
    { path: OFREP_BULK_PATH, method: ['POST'], handler: evaluateAll },
  ];
}

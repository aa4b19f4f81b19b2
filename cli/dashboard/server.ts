/**
 * `gantry dashboard`'s server (docs/decisions/056-dashboard.md): a `node:http` server bound to 127.0.0.1 that holds
 * one GantryBackend (a local Gantry, or the stack through the operator's own credentials) and serves
 *
 *   GET  /                               the page (cli/dashboard/static: index.html, app.js, app.css; no build step)
 *   GET  /api/overview                   matrix, releases in flight, approvals waiting, history (overview.ts)
 *   GET  /api/releases/:id               one release's status view (as `gantry status --json` gives it)
 *   GET  /releases/:id/report            the release's HTML report (as `gantry report` builds it)
 *   POST /api/releases/:id/approve|reject {stage, comment?, planSha256?}  → backend.decide
 *   POST /api/releases/:id/abort         {reason}  → backend.abortRelease (`gantry abort`, decision 053)
 *   POST /api/promote                    {service, digest, to, reason?}  → promoteInput + backend.startRelease (`gantry promote`)
 *
 * Security (docs/security.md "Local dashboard"): only 127.0.0.1; a request whose Host is not 127.0.0.1:PORT or
 * localhost:PORT is refused (DNS rebinding); every POST needs --allow-actions, the server's random token in
 * X-Gantry-Dashboard-Token (the page reads it from a <meta> tag of the index page: no cookie, so another site
 * cannot forge a request) and Content-Type: application/json; a strict CSP and no-store on every answer; every path
 * parameter and body field is validated before it reaches the backend; errors are JSON `{message}`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { COMMENT_MAX, RELEASE_ID_PATTERN } from '../../lambdas/domain/approvers';
import { DIGEST_PATTERN, K8S_NAME_PATTERN } from '../../lambdas/domain/config';
import { projectRelease } from '../../lambdas/domain/ledger';
import { ValidationError } from '../../lambdas/domain/validation';
import { type GantryBackend, GantryAwsError, NotFoundError, RefusedError } from '../backends/backend';
import { promoteInput } from '../commands/promote';
import { statusOf } from '../commands/status';
import { type BackendOptions, type OperatorIo, openBackend, shortDigest } from '../commands/common';
import { CliInputError } from '../errors';
import { buildReleaseReport } from '../render/report-html';
import { type Overview, overviewOf } from './overview';

export const DEFAULT_PORT = 7711;
export const HOST = '127.0.0.1';
export const TOKEN_HEADER = 'x-gantry-dashboard-token';
/** The largest POST body read (an approval's comment is at most COMMENT_MAX characters). */
export const BODY_MAX = 16 * 1024;
const PLAN_SHA256 = /^[a-f0-9]{64}$/;
const REASON_MAX = 1000;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The report's CSP: its inline styles, and its one inline script by hash (cli/render/report-html.ts). */
export function reportCsp(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] as string)
        .digest('base64')}'`,
  );
  return `default-src 'none'; style-src 'unsafe-inline'; script-src ${hashes.length ? hashes.join(' ') : "'none'"}; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;
}

/** A request the dashboard refuses: its status code and a message in words. */
export class DashboardRequestError extends Error {
  override readonly name = 'DashboardRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DashboardOptions extends BackendOptions {
  /** The port (0–65535; 0: any free port). @default 7711 */
  readonly port?: string | number;
  /** Approve, reject (and abort) from the page. @default read-only */
  readonly allowActions?: boolean;
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  readonly allowActions: boolean;
  /** Stop serving and close the backend. */
  close(): Promise<void>;
}

/** `--port`: an integer 0–65535 (0: any free port). */
export function parsePort(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const s = String(value);
  const n = /^\d{1,5}$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliInputError(`--port: expected a port number from 0 to 65535 (0: any free port), got ${JSON.stringify(s)}`);
  return n;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

function readStatic(file: string): string {
  // scripts/build-cli.mjs rewrites __dirname to this source folder, so the bundle reads the same files.
  return readFileSync(join(__dirname, 'static', file), 'utf8');
}

function validReleaseId(id: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    decoded = id;
  }
  if (!RELEASE_ID_PATTERN.test(decoded)) throw new DashboardRequestError(400, `release id: expected 1-80 of A-Z a-z 0-9 _ -, got ${JSON.stringify(decoded.slice(0, 100))}`);
  return decoded;
}

/** The JSON body of a POST (Content-Type application/json, at most BODY_MAX bytes, an object). */
async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type !== 'application/json') throw new DashboardRequestError(415, 'Content-Type: expected application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > BODY_MAX) throw new DashboardRequestError(413, `the request body is larger than ${BODY_MAX} bytes`);
    chunks.push(c as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new DashboardRequestError(400, 'the request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new DashboardRequestError(400, 'the request body: expected a JSON object');
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, field: string, max: number): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new DashboardRequestError(400, `${field}: expected a string`);
  if (v.length > max) throw new DashboardRequestError(400, `${field}: at most ${max} characters, got ${v.length}`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) throw new DashboardRequestError(400, `${field}: control characters are not allowed`);
  return v;
}

/** Start the dashboard: open the backend, bind 127.0.0.1:PORT, print the URL. */
export async function startDashboard(opts: DashboardOptions, io: OperatorIo): Promise<Dashboard> {
  const port = parsePort(opts.port);
  const allowActions = opts.allowActions === true;
  const files = { index: readStatic('index.html'), js: readStatic('app.js'), css: readStatic('app.css') };
  const backend: GantryBackend = await openBackend(opts, io);
  const token = randomBytes(32).toString('base64url');
  const indexHtml = files.index.replace('{{TOKEN}}', allowActions ? token : '');
  let actualPort = port;
  let busy = false;
  // An AWS backend is asked at most every 5 s whatever the number of tabs; a local one answers from its files.
  const ttl = backend.kind === 'aws' ? 5000 : 0;
  let cached: { at: number; value: Promise<Overview> } | undefined;

  const refresh = () => {
    if (busy) return;
    const r = (backend as { refresh?: () => void }).refresh;
    if (typeof r === 'function') r.call(backend);
  };
  const overview = (): Promise<Overview> => {
    const t = Date.now();
    if (cached && t - cached.at < ttl) return cached.value;
    refresh();
    const value = overviewOf(backend, allowActions);
    cached = { at: t, value };
    value.catch(() => (cached = undefined));
    return value;
  };

  const send = (res: ServerResponse, status: number, type: string, body: string, csp = PAGE_CSP) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
    res.end(body);
  };
  const sendJson = (res: ServerResponse, status: number, value: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

  const allowedHosts = () => [`${HOST}:${actualPort}`, `localhost:${actualPort}`];

  async function stageOf(releaseId: string, stage: unknown): Promise<string> {
    if (typeof stage !== 'string' || stage === '') throw new DashboardRequestError(400, 'stage: expected the name of the stage waiting for approval');
    const summary = projectRelease(await backend.getReleaseEvents(releaseId));
    if (!summary) throw new DashboardRequestError(404, `release ${releaseId} is not in ${backend.label}`);
    const names = summary.stages.map((s) => s.name);
    if (!names.includes(stage))
      throw new DashboardRequestError(400, `stage: ${JSON.stringify(stage.slice(0, 60))} is not a stage of ${releaseId} (its stages: ${names.join(', ')})`);
    return stage;
  }

  async function act(res: ServerResponse, fn: () => Promise<{ status: number; body: unknown }>): Promise<void> {
    if (busy) throw new DashboardRequestError(409, 'another action is in progress; try again when it has finished');
    busy = true;
    try {
      const r = await fn();
      cached = undefined;
      sendJson(res, r.status, r.body);
    } finally {
      busy = false;
    }
  }

  /** `gantry promote` from the page: a release of the previous stage's digest starting at `to` (decision 054). */
  async function promote(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const service = body.service;
    const to = body.to;
    const digest = body.digest;
    if (typeof service !== 'string' || !SERVICE_NAME.test(service)) throw new DashboardRequestError(400, 'service: expected a service name (lowercase, digits, -)');
    if (typeof to !== 'string' || !K8S_NAME_PATTERN.test(to)) throw new DashboardRequestError(400, 'to: expected the name of the stage to promote to');
    if (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest)) throw new DashboardRequestError(400, 'digest: expected a digest sha256:<64 lowercase hex characters>');
    const config = backend.config();
    if (config && !config.services[service]) throw new DashboardRequestError(400, `service: ${service} is not in the configuration`);
    const reason = optionalString(body, 'reason', REASON_MAX);
    const input = promoteInput({ service, digest, to, ...(reason !== undefined ? { reason } : {}) }, config);
    return act(res, async () => {
      const r = await backend.startRelease(input);
      return {
        status: 200,
        body: {
          releaseId: r.releaseId,
          alreadyExists: r.alreadyExists,
          message: `${r.alreadyExists ? 'Already started' : 'Started'} the promotion of ${shortDigest(digest)} to ${to} of ${service}: ${r.releaseId}`,
        },
      };
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = String(req.headers.host ?? '');
    if (!allowedHosts().includes(host))
      throw new DashboardRequestError(403, `refused: the Host header must be ${HOST}:${actualPort} or localhost:${actualPort} (the dashboard answers only on this machine)`);
    const path = (req.url ?? '/').split('?')[0] as string;
    const method = req.method ?? 'GET';

    if (method === 'GET' || method === 'HEAD') {
      if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', indexHtml);
      const asset = STATIC[path];
      if (asset) return send(res, 200, asset.type, asset.file === 'app.js' ? files.js : files.css);
      if (path === '/api/overview') return sendJson(res, 200, await overview());
      let m = /^\/api\/releases\/([^/]+)$/.exec(path);
      if (m) {
        const id = validReleaseId(m[1] as string);
        refresh();
        const v = await statusOf(backend, id);
        if (!v) throw new DashboardRequestError(404, `release ${id} is not in ${backend.label}`);
        return sendJson(res, 200, v);
      }
      m = /^\/releases\/([^/]+)\/report$/.exec(path);
      if (m) {
        const id = validReleaseId(m[1] as string);
        refresh();
        const parsed = await backend.exportRelease(id);
        const lines = parsed.events.filter((l) => l.event.releaseId === id);
        if (lines.length === 0) throw new DashboardRequestError(404, `release ${id} is not in ${backend.label}`);
        const { html } = buildReleaseReport(lines, {
          releaseId: id,
          anchors: parsed.anchors.filter((a) => a.anchor.releaseId === id),
          source: backend.label,
          generatedAt: new Date().toISOString(),
          simulated: backend.kind === 'local',
        });
        return send(res, 200, 'text/html; charset=utf-8', html, reportCsp(html));
      }
      throw new DashboardRequestError(404, `no such page: ${path.slice(0, 100)}`);
    }

    if (method !== 'POST') throw new DashboardRequestError(405, `method ${method.slice(0, 10)} is not allowed`);
    const m = /^\/api\/releases\/([^/]+)\/(approve|reject|abort)$/.exec(path);
    if (!m && path !== '/api/promote') throw new DashboardRequestError(404, `no such action: ${path.slice(0, 100)}`);
    if (!allowActions)
      throw new DashboardRequestError(
        403,
        'the dashboard is read-only: restart it with --allow-actions to approve, reject or abort from the page (gantry dashboard --allow-actions)',
      );
    const sent = String(req.headers[TOKEN_HEADER] ?? '');
    const a = Buffer.from(sent);
    const b = Buffer.from(token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new DashboardRequestError(403, `refused: missing or wrong ${TOKEN_HEADER} header (reload the page)`);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts().some((h) => origin === `http://${h}`))
      throw new DashboardRequestError(403, `refused: a request from origin ${JSON.stringify(origin.slice(0, 100))}`);
    const body = await readJsonBody(req);
    if (!m) return promote(res, body);
    const id = validReleaseId(m[1] as string);
    const verb = m[2] as 'approve' | 'reject' | 'abort';

    if (verb === 'abort') {
      const reason = optionalString(body, 'reason', REASON_MAX);
      if (!reason) throw new DashboardRequestError(400, 'reason: expected why the release is aborted (recorded)');
      return act(res, async () => ({ status: 200, body: await backend.abortRelease(id, reason) }));
    }
    const stage = await stageOf(id, body.stage);
    const comment = optionalString(body, 'comment', COMMENT_MAX);
    const plan = optionalString(body, 'planSha256', 64);
    if (plan !== undefined && !PLAN_SHA256.test(plan)) throw new DashboardRequestError(400, "planSha256: expected the saved plan's sha256 (64 lowercase hex digits)");
    return act(res, async () => {
      const r = await backend.decide({
        decision: verb,
        releaseId: id,
        stage,
        ...(comment !== undefined ? { comment } : {}),
        ...(plan !== undefined ? { planSha256: plan } : {}),
      });
      const status = r.code === 0 ? 200 : r.code === 2 ? 400 : 409;
      return { status, body: { code: r.code, lines: r.lines, message: r.lines.map((l) => l.text).join('\n') } };
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.end();
      if (e instanceof DashboardRequestError) return sendJson(res, e.status, { message: e.message });
      if (e instanceof CliInputError || e instanceof ValidationError) return sendJson(res, 400, { message: e.message });
      if (e instanceof NotFoundError) return sendJson(res, 404, { message: e.message });
      if (e instanceof RefusedError) return sendJson(res, 409, { message: e.message });
      if (e instanceof GantryAwsError || (typeof e === 'object' && e !== null && '$metadata' in e)) return sendJson(res, 502, { message: (e as Error).message });
      io.err(`gantry dashboard: internal error on ${req.method} ${(req.url ?? '').slice(0, 100)}: ${(e as Error)?.message ?? String(e)}`);
      return sendJson(res, 500, { message: 'internal error (the terminal running gantry dashboard says which)' });
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    backend.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliInputError(`--port: port ${port} on ${HOST} is in use; give another with --port N (0: any free port)`);
    if (code === 'EACCES') throw new CliInputError(`--port: not allowed to listen on port ${port}; give one above 1023 with --port N (0: any free port)`);
    throw e;
  }
  const address = server.address();
  actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${HOST}:${actualPort}/`;
  let closed = false;
  return {
    url,
    port: actualPort,
    allowActions,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      backend.close();
    },
  };
}

/** `gantry releases`: releases and rollbacks, newest first, filtered by service, time and status. */
import type { Command } from 'commander';
import type { ReleaseSummary } from '../../lambdas/domain/ledger';
import { EXIT } from '../backends/backend';
import { CliInputError } from '../errors';
import { parseTimeBound } from '../input';
import { changeIdOption } from '../release-filter';
import { displayWidth, fitLine, hanging, outputWidth, padEnd } from '../render/text';
import { type BackendOptions, backendOptions, clock, csv, json, type OperatorIo, paint, type SetCode, shortDigest, simulated, useColour, withBackend } from './common';

export interface ReleasesOptions extends BackendOptions {
  readonly service?: string;
  readonly since?: string;
  readonly until?: string;
  readonly status?: string;
  readonly limit?: string;
  /** Only the releases of this change record id (decision 051). */
  readonly change?: string;
  readonly json?: boolean;
}

export function releaseListItem(r: ReleaseSummary) {
  return {
    releaseId: r.releaseId,
    kind: r.kind,
    service: r.service,
    status: r.status,
    digest: r.digest ?? null,
    tag: r.tag ?? null,
    initiator: r.initiator ?? null,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    reason: r.reason ?? null,
    stages: r.stages.map((s) => ({ name: s.name, status: s.status })),
    ...(r.change ? { change: r.change } : {}),
  };
}

export async function runReleases(opts: ReleasesOptions, io: OperatorIo): Promise<number> {
  return withBackend(opts, io, async (b) => {
    const now = b.now();
    const since = parseTimeBound(opts.since, 'since', now);
    const until = parseTimeBound(opts.until, 'until', now);
    const limit = opts.limit === undefined ? 50 : Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CliInputError(`--limit: expected a whole number of at least 1, got ${JSON.stringify(opts.limit)}`);
    let list = await b.listReleases({ ...(opts.service ? { service: opts.service } : {}), ...(since ? { from: since } : {}), ...(until ? { to: until } : {}) });
    const change = opts.change !== undefined ? changeIdOption(opts.change) : undefined;
    if (change !== undefined) list = list.filter((r) => r.change?.id === change);
    if (opts.status) {
      const wanted = new Set(csv(opts.status).map((s) => s.toUpperCase()));
      list = list.filter((r) => wanted.has(r.status));
    }
    list = list.slice(0, limit);
    if (opts.json) {
      io.out(json({ source: b.label, simulated: simulated(b), now: now.toISOString(), releases: list.map(releaseListItem) }));
      return EXIT.ok;
    }
    if (list.length === 0) {
      io.out(`no releases${opts.service ? ` of ${opts.service}` : ''}${change !== undefined ? ` of change ${change}` : ''}${since ? ` since ${clock(since)}` : ''} in ${b.label}`);
      return EXIT.ok;
    }
    const colour = useColour(io);
    const width = outputWidth(io);
    const rows = list.map((r) => ({
      r,
      image: r.kind === 'rollback' ? `→ ${shortDigest(r.rollbackTarget ?? r.digest ?? null)}` : (r.tag ?? shortDigest(r.digest ?? null)),
      stages: r.stages.map((s) => `${s.name}:${paint(colour, s.status)}`).join(' '),
    }));
    // Columns as wide as their widest value; STAGES wraps under itself. Too narrow for one line (a terminal of
    // 80 columns): each release on two lines, its service, image and stages on the second.
    const col = (head: string, values: string[]) => Math.max(head.length, ...values.map(displayWidth)) + 2;
    const w = {
      id: col(
        'RELEASE',
        list.map((r) => r.releaseId),
      ),
      service: col(
        'SERVICE',
        list.map((r) => r.service),
      ),
      status: col(
        'STATUS',
        list.map((r) => r.status),
      ),
      started: 22,
      image: col(
        'IMAGE',
        rows.map((x) => x.image),
      ),
    };
    const oneLine = w.id + w.service + w.status + w.started + w.image + 12 <= width;
    if (oneLine) {
      io.out(`${padEnd('RELEASE', w.id)}${padEnd('SERVICE', w.service)}${padEnd('STATUS', w.status)}${padEnd('STARTED', w.started)}${padEnd('IMAGE', w.image)}STAGES`);
      for (const { r, image, stages } of rows) {
        const prefix = `${padEnd(r.releaseId, w.id)}${padEnd(r.service, w.service)}${padEnd(paint(colour, r.status), w.status)}${padEnd(clock(r.startedAt), w.started)}${padEnd(image, w.image)}`;
        io.out(hanging(prefix, stages, width, { minText: 12 }).join('\n'));
      }
    } else {
      io.out(`${padEnd('RELEASE', w.id)}${padEnd('STATUS', w.status)}STARTED\n  SERVICE, IMAGE, STAGES`);
      for (const { r, image, stages } of rows) {
        io.out(fitLine(`${padEnd(r.releaseId, w.id)}${padEnd(paint(colour, r.status), w.status)}${clock(r.startedAt)}`, width).join('\n'));
        io.out(hanging(`  ${r.service} ${image}  `, stages, width, { minText: 24, fallbackIndent: 4 }).join('\n'));
      }
    }
    io.out(`(${list.length} release(s); ${b.label})`);
    return EXIT.ok;
  });
}

/** Register `gantry releases`. */
export function registerReleasesCommand(program: Command, setCode: SetCode, io: OperatorIo): void {
  backendOptions(
    program
      .command('releases')
      .description('list releases and rollbacks, newest first')
      .option('--service <service>', 'only this service')
      .option('--since <when>', 'started at or after: an ISO date, instant, or duration back from now (P7D)')
      .option('--until <when>', 'started at or before: an ISO date, instant, or duration back from now')
      .option('--status <list>', 'only these statuses (comma-separated, e.g. RUNNING,FAILED)')
      .option('--limit <n>', 'at most this many (default 50)')
      .option('--change <id>', 'only the releases of this change record id (decision 051), such as CHG-1234')
      .option('--json', 'print the list as one JSON object'),
  ).action(async (opts: ReleasesOptions) => {
    setCode(await runReleases(opts, io));
  });
}

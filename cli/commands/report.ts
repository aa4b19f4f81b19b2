/**
 * `gantry report <releaseId> [--local D | --stack S --region R --profile P | --file F | --table T] [--html] [--out O]`:
 * one release as a self-contained HTML page (cli/render/report-html.ts) to attach to a change record.
 *
 * Reads the release the way `gantry audit show` does (cli/release-source.ts): from a deployed Gantry
 * (the default, found as `gantry status` finds it) or a local one (`--local`) through the same
 * GantryBackend, from an export file (`gantry audit export`, `gantry simulate --export`) or from the
 * ledger table by name; and checks the release's hash chain and anchor before it answers.
 *
 * Exit codes: 0 written; 1 written, but the record failed verification (the page says so in red, and
 * stderr names every problem); 2 bad input (CliInputError: a missing or unreadable file, a line that is
 * not JSON, conflicting options); 3 the release (or the stack, or the local Gantry) is not there;
 * 4 an AWS error (GantryAwsError, through `gantry`'s error handling).
 */
import type { Command } from 'commander';
import { formatProblem } from '../../lambdas/domain/audit';
import { buildReleaseReport } from '../render/report-html';
import { err as stderr, type SetCode, signatureKeysOf } from './audit';
import type { GantryBackend } from '../backends/backend';
import { checkOutputFile, writeOutputFile } from '../files';
import type { BackendOptions } from './common';
import { notFoundMessage, type ReleaseSourceOptions, readRelease, releaseSourceOptions } from '../release-source';

/** Exit codes of `gantry report`. */
export const REPORT_EXIT = { ok: 0, verificationFailed: 1, badInput: 2, notFound: 3, awsError: 4 } as const;

export interface ReportOptions extends ReleaseSourceOptions {
  readonly html?: boolean;
  readonly out?: string;
}

/** Where the command writes; tests pass their own. */
export interface ReportIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => Date;
  /** Open the backend of `--local`/`--stack` (tests replace it). @default operator.ts openBackend */
  readonly openBackend?: (opts: BackendOptions) => Promise<GantryBackend>;
}

const defaultIo: ReportIo = { out: (t) => process.stdout.write(t), err: stderr, now: () => new Date() };

export function registerReportCommand(program: Command, setCode: SetCode, io: ReportIo = defaultIo): void {
  releaseSourceOptions(
    program
      .command('report')
      .description('one release as a self-contained HTML page (timeline and evidence tables, prints to PDF) to attach to a change record')
      .argument('<releaseId>', 'the release (its execution name)')
      .option('--html', 'write HTML (the default and, for now, the only format)')
      .option('--out <file>', 'write the page to this file instead of stdout')
      .option('--public-key <pem>', "the anchor key's public half: the page says whether the signature verified (decision 048)"),
  ).action(async (releaseId: string, opts: ReportOptions & { publicKey?: string }) => {
    if (opts.out !== undefined) checkOutputFile(opts.out, '--out');
    const keys = await signatureKeysOf({ ...(opts.publicKey !== undefined ? { publicKey: opts.publicKey } : {}) });
    const read = await readRelease(releaseId, opts, { err: io.err, ...(io.openBackend ? { openBackend: io.openBackend } : {}) });
    const { parsed, source } = read;
    const lines = parsed.events.filter((l) => l.event.releaseId === releaseId);
    if (lines.length === 0) {
      io.err(`gantry: ${notFoundMessage(releaseId, read)}\n`);
      setCode(REPORT_EXIT.notFound);
      return;
    }
    const anchors = parsed.anchors.filter((a) => a.anchor.releaseId === releaseId);
    const { html, audit } = buildReleaseReport(lines, { releaseId, anchors, source, generatedAt: io.now().toISOString(), keys, simulated: read.simulated === true });
    if (!audit.integrity.ok) {
      io.err(`gantry: the record of ${releaseId} FAILED verification; the report says so:\n`);
      for (const p of audit.integrity.problems) io.err(`  ${formatProblem(p)}\n`);
      setCode(REPORT_EXIT.verificationFailed);
    }
    if (opts.out) {
      writeOutputFile(opts.out, html, '--out');
      io.err(`gantry: wrote the report of ${releaseId} to ${opts.out}\n`);
    } else {
      io.out(html);
    }
  });
}

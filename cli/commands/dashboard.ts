/**
 * `gantry dashboard [--local DIR | --stack …] [--port N] [--allow-actions] [--open]` (docs/decisions/056-dashboard.md):
 * a web page on 127.0.0.1 with the stage matrix, the releases in flight, the approvals waiting (approve or reject from the
 * page with --allow-actions), the recent history and each release's report. Runs until Ctrl-C (SIGINT) or SIGTERM.
 * Exit codes: 0 stopped; 2 bad input (--port, a port in use); 3 the local Gantry or the stack is not there; 4 an AWS error.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { type Dashboard, type DashboardOptions, startDashboard } from '../dashboard/server';
import { backendOptions, type OperatorIo, type SetCode } from './common';

export { startDashboard };

interface DashboardCommandOptions extends DashboardOptions {
  readonly open?: boolean;
}

/** Open the URL in the operator's browser (no shell: the command and the URL we built, as arguments). */
function openBrowser(url: string, io: OperatorIo): void {
  if (!/^http:\/\/127\.0\.0\.1:\d{1,5}\/$/.test(url)) return;
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['explorer.exe', [url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true, shell: false });
    child.on('error', () => io.err(`gantry dashboard: could not open a browser (${cmd}); open ${url} yourself`));
    child.unref();
  } catch {
    io.err(`gantry dashboard: could not open a browser (${cmd}); open ${url} yourself`);
  }
}

/** Serve until SIGINT or SIGTERM, then close the server and the backend. */
export async function runDashboard(opts: DashboardCommandOptions, io: OperatorIo, until?: Promise<unknown>): Promise<number> {
  const d: Dashboard = await startDashboard(opts, io);
  io.out(`Gantry dashboard: ${d.url} (${d.allowActions ? 'actions allowed' : 'read-only'}) — Ctrl-C to stop`);
  if (opts.open) openBrowser(d.url, io);
  const stop =
    until ??
    new Promise<void>((resolve) => {
      const done = () => {
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve();
      };
      process.on('SIGINT', done);
      process.on('SIGTERM', done);
    });
  await stop;
  await d.close();
  io.err('gantry dashboard: stopped');
  return 0;
}

export function registerDashboardCommand(program: Command, setCode: SetCode, io: OperatorIo): void {
  backendOptions(
    program
      .command('dashboard')
      .description('a local web page (127.0.0.1) with the stage matrix, releases in flight, approvals waiting, recent history and reports; read-only unless --allow-actions')
      .option('--port <n>', 'the port on 127.0.0.1 (0: any free port)', '7711')
      .option('--allow-actions', 'allow approving, rejecting (and aborting) from the page, signed with your credentials (local: as --as)')
      .option('--open', 'open the page in your browser'),
  ).action(async (opts: DashboardCommandOptions) => {
    setCode(await runDashboard(opts, io));
  });
}

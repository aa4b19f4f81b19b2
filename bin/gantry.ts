/** The operator CLI entry: thin; commands live under lib/cli (registered in local/cli.ts). */
import { main } from '../local/cli';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // main() answers every error itself; this is the last resort. No stack trace unless --debug.
    const debug = process.argv.includes('--debug');
    process.stderr.write(`gantry: internal error: ${debug ? ((err as Error)?.stack ?? String(err)) : ((err as Error)?.message ?? String(err))}\n`);
    process.exitCode = 1;
  },
);

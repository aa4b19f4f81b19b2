import { CliInputError } from './errors';

/** Which releases an audit read keeps: read by cli/input.ts from the options, applied by the backends (live-ledger.ts). */
export interface ReleaseFilter {
  readonly service?: string;
  readonly since?: string;
  readonly until?: string;
  /** Only this release (show). */
  readonly releaseId?: string;
  /** Only the releases of this change record id (decision 051): the id their change.record gate recorded. */
  readonly change?: string;
}

/** `--change <id>`: a change record id as the release input takes one (1–100 printable characters). */
export function changeIdOption(id: string): string {
  if (!/^[\x21-\x7e]{1,100}$/.test(id))
    throw new CliInputError(`--change: expected a change record id of 1 to 100 printable characters, such as CHG-1234, got ${JSON.stringify(id)}`);
  return id;
}

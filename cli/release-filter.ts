/** Which releases an audit read keeps: read by cli/input.ts from the options, applied by the backends (live-ledger.ts). */
export interface ReleaseFilter {
  readonly service?: string;
  readonly since?: string;
  readonly until?: string;
  /** Only this release (show). */
  readonly releaseId?: string;
}

/** Errors of the `gantry` commands that mean "bad input" (exit code 2): a missing file, a bad option value, an unknown release. */
export class CliInputError extends Error {
  override readonly name = 'CliInputError';
}

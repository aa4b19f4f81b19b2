/**
 * Files the CLI writes (`gantry simulate --export`, `gantry audit export --out`, `gantry report --out`):
 * a path whose folder does not exist, or that names a folder, is bad input (exit 2) with a message
 * that says what to do, checked before any work is done, never an internal error.
 */
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CliInputError } from './errors';

function kindOf(path: string): 'file' | 'folder' | 'other' | undefined {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

/** Check that `file` can be written by `option` (`--export`, `--out`). @throws CliInputError naming the option */
export function checkOutputFile(file: string, option: string): void {
  if (file.trim() === '') throw new CliInputError(`${option}: expected a file path, got ""`);
  const folder = dirname(resolve(file));
  const parent = kindOf(folder);
  if (parent === undefined) throw new CliInputError(`${option} ${file}: the folder ${folder} does not exist; create it first, or give a path in an existing folder`);
  if (parent !== 'folder') throw new CliInputError(`${option} ${file}: ${folder} is not a folder`);
  if (kindOf(file) === 'folder') throw new CliInputError(`${option} ${file}: is a folder; give a file name, such as ${resolve(file, 'out.jsonl')}`);
}

/** Write `text` to `file` for `option`, answering what the file system refuses as bad input. @throws CliInputError */
export function writeOutputFile(file: string, text: string, option: string): void {
  checkOutputFile(file, option);
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new CliInputError(`${option} ${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

/** Check that `dir` can hold a local Gantry (`--state`): it may be missing (it is created), but not a file. */
export function checkStateFolder(dir: string, option: string): void {
  if (dir.trim() === '') throw new CliInputError(`${option}: expected a folder path, got ""`);
  const kind = kindOf(dir);
  if (kind !== undefined && kind !== 'folder') throw new CliInputError(`${option} ${dir}: is a file, not a folder`);
}

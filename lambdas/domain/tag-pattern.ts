/**
 * `services.<s>.tagPattern`: intake tests it against every pushed tag, so it runs on input anyone who
 * may push to ECR chooses. It is matched with RE2 (`re2js`, a pure-JavaScript port of Google's RE2):
 * time linear in the tag's length whatever the pattern, so a pattern such as `^(a+)+$` cannot keep
 * intake busy the way a backtracking engine (JavaScript's `RegExp`) would on `aaaa…!`.
 *
 * RE2 has no backreferences (`\1`), lookarounds (`(?=`, `(?!`, `(?<=`, `(?<!`) or `\u`/`\c` escapes,
 * and allows repeat counts up to 1000; the config refuses a pattern it cannot compile
 * (`lambdas/domain/config.ts`), and one JavaScript cannot compile either, so a pattern means the same
 * to a reader who knows either syntax. Like `RegExp.prototype.test`, a match anywhere in the tag counts:
 * anchor the pattern (`^…$`) to match the whole tag.
 */
import { RE2JS } from 're2js';

/**
 * True in the Lambda bundles only (esbuild `define` in lib/bundle.ts, decision 039): the config compiled
 * into a bundle is one that `parseConfig` accepted at synth with the full RE2 check, and lib/bundle.ts
 * refuses to build with one it does not accept. There the RE2 check below is skipped, so a handler that
 * never matches a tag (all but intake) does not carry re2js (~150 KB); intake still compiles each pattern
 * with RE2 when it matches. Outside a bundle (CLI, synth, tests, the local runtime) the identifier does not
 * exist and every pattern is checked.
 */
declare const GANTRY_CONFIG_CHECKED_AT_SYNTH: boolean | undefined;

export class TagPatternError extends Error {
  override readonly name = 'TagPatternError';
}

/** Compiled patterns by source: the config holds a handful, and intake tests each on every push. */
const compiled = new Map<string, RE2JS>();

/**
 * What is wrong with `pattern` as a tag pattern (one clause, for `expected …`), or undefined when
 * JavaScript and RE2 both compile it.
 */
export function tagPatternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
  } catch {
    return 'expected a valid regular expression';
  }
  // A conditional expression, not an early `if … return`: esbuild folds it away with the `define`, so
  // `re2Problem` (and re2js) is left unreferenced in the bundles and tree-shaken.
  return typeof GANTRY_CONFIG_CHECKED_AT_SYNTH === 'boolean' && GANTRY_CONFIG_CHECKED_AT_SYNTH ? undefined : re2Problem(pattern);
}

function re2Problem(pattern: string): string | undefined {
  try {
    compileTagPattern(pattern);
    return undefined;
  } catch (e) {
    const why = e instanceof TagPatternError && e.cause instanceof Error ? e.cause.message.replace(/^error parsing regexp: /, '') : String(e);
    return `expected a regular expression RE2 can match in linear time (no backreferences, lookarounds or repeat counts over 1000): ${why}`;
  }
}

/** The RE2 program of `pattern`, compiled once per pattern. Throws TagPatternError (cause: RE2's error). */
export function compileTagPattern(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      throw new TagPatternError(`tagPattern ${JSON.stringify(pattern)} is not a regular expression RE2 can compile`, { cause: e });
    }
    compiled.set(pattern, re);
  }
  return re;
}

/** Whether `tag` matches `pattern` anywhere (as `new RegExp(pattern).test(tag)` would), in linear time. */
export function tagMatches(pattern: string, tag: string): boolean {
  return compileTagPattern(pattern).test(tag);
}

/**
 * CDK side, shared by the CodeBuild drivers (drivers/helm/cdk.ts, drivers/terraform/cdk.ts); never imported by a handler.
 *
 * How a driver's buildspec is deployed: the buildspec file with its one `- bash drivers/<name>/deploy.sh`
 * command replaced by a YAML literal block that writes the reviewed script to a temporary file through
 * a quoted heredoc (nothing in it is expanded) and runs it with bash. Everything else is kept byte for byte.
 */
import { BuildSpec } from 'aws-cdk-lib/aws-codebuild';

export interface InlineScriptOptions {
  readonly buildspec: string;
  readonly script: string;
  /** The command line to replace, e.g. `bash drivers/helm/deploy.sh`. */
  readonly command: string;
  readonly delimiter: string;
  /** "Helm" or "Terraform", for error messages. */
  readonly driver: string;
  readonly fail: (message: string) => Error;
}

export function inlineDriverScript(o: InlineScriptOptions): string {
  const lines = o.buildspec.split('\n');
  const at = lines.flatMap((l, i) => (l.trim() === `- ${o.command}` ? [i] : []));
  if (at.length !== 1) throw o.fail(`the ${o.driver} buildspec must contain the command "- ${o.command}" exactly once (found ${at.length})`);
  const scriptLines = o.script.replace(/\n+$/, '').split('\n');
  if (scriptLines.some((l) => l.trim() === o.delimiter)) throw o.fail(`the ${o.driver} driver script must not contain a line "${o.delimiter}" (the heredoc delimiter)`);
  const index = at[0] as number;
  const indent = /^ */.exec(lines[index] as string)?.[0] ?? '';
  const body = ['driver_script="$(mktemp)"', `cat > "$driver_script" <<'${o.delimiter}'`, ...scriptLines, o.delimiter, 'bash "$driver_script"'];
  const block = [`${indent}- |`, ...body.map((l) => (l === '' ? '' : `${indent}  ${l}`))];
  return [...lines.slice(0, index), ...block, ...lines.slice(index + 1)].join('\n');
}

/** A buildspec given as YAML text, deployed as written (CodeBuild accepts inline YAML). */
export class YamlTextBuildSpec extends BuildSpec {
  public readonly isImmediate = true;
  constructor(private readonly text: string) {
    super();
  }
  public toBuildSpec(): string {
    return this.text;
  }
}

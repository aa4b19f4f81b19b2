/**
 * A workflow definition read from `statemachines/<name>.asl.json`: its `${Placeholder}`s and the AWS
 * integrations its Task states use. CDK grants nothing for a definition read from a file, so the
 * construct derives every grant from this analysis, and refuses (at synth) an integration it has no
 * grant for rather than deploying a workflow that fails at run time with AccessDenied.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DRIVERS } from '../drivers';

export class WorkflowDefinitionError extends Error {
  override readonly name = 'WorkflowDefinitionError';
}

/** `${PascalCase}` placeholders, as Step Functions `DefinitionSubstitutions` understands them. */
export const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;

/**
 * The driver CodeBuild projects a workflow may start, by the `deploy.driver` they run: the only
 * `ProjectName` placeholders a definition may use (the control plane has exactly these projects).
 */
export const DRIVER_PROJECTS: Readonly<Record<string, string>> = Object.fromEntries(
  DRIVERS.flatMap((d) => ('codeBuild' in d && d.codeBuild ? [[d.name, d.codeBuild.projectPlaceholder]] : [])),
);
/** A driver with a CodeBuild project (drivers/index.ts: helm, terraform). */
export type CodeBuildDriver = string;

/** The `.sync` CodeBuild integration waits on this rule, which Step Functions manages on the default bus. */
export const CODEBUILD_SYNC_RULE = 'StepFunctionsGetEventForCodeBuildStartBuildRule';

/** One IAM statement a workflow role needs, as data (the construct makes the `PolicyStatement`). */
export interface GrantStatement {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

export type TaskIntegration =
  /** A Lambda function, by direct ARN (`"Resource": "${XFunctionArn}"`) or through `lambda:invoke[.waitForTaskToken]`. */
  | { readonly kind: 'lambda'; readonly state: string; readonly functionPlaceholder: string }
  /** `codebuild:startBuild.sync` (needs the managed EventBridge rule) or `codebuild:startBuild`. */
  | { readonly kind: 'codebuild'; readonly state: string; readonly projectPlaceholder: string; readonly sync: boolean }
  /** `aws-sdk:eks:describeCluster`: the endpoint and certificate authority `eks:call` needs (IAM: `eks:DescribeCluster`). */
  | { readonly kind: 'eks-describe-cluster'; readonly state: string }
  /**
   * `eks:call`: a Kubernetes API request, authorised by the cluster (an EKS access entry for the workflow role), not
   * by IAM. `method` is the literal `Method`, or undefined when it is chosen at run time.
   */
  | { readonly kind: 'eks-call'; readonly state: string; readonly method: string | undefined }
  /** `states:startExecution.sync:2`: a nested run of another Gantry workflow, by `${XxxStateMachineArn}` (the drill workflow: decision 052). */
  | { readonly kind: 'start-execution'; readonly state: string; readonly stateMachinePlaceholder: string };

interface AslState {
  readonly Type?: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Branches?: ReadonlyArray<{ readonly States?: Record<string, AslState> }>;
  readonly Iterator?: { readonly States?: Record<string, AslState> };
  readonly ItemProcessor?: { readonly States?: Record<string, AslState> };
}

const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/;
const CODEBUILD_START = /^arn:aws:states:::codebuild:startBuild(\.sync)?$/;
const EKS_DESCRIBE_CLUSTER = 'arn:aws:states:::aws-sdk:eks:describeCluster';
const EKS_CALL = 'arn:aws:states:::eks:call';
const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';
/** The rule Step Functions manages on the default bus to learn that a nested execution (`.sync`) ended. */
export const STATES_SYNC_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

/** Drivers that run inside the workflow itself rather than as a CodeBuild project. */
export type NativeDriver = 'kubernetes';

function wholePlaceholder(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^\$\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(value);
  return m?.[1];
}

export class WorkflowDefinition {
  /** Read and analyse one ASL file. */
  static fromFile(path: string): WorkflowDefinition {
    return new WorkflowDefinition(basename(path), readFileSync(path, 'utf8'));
  }

  /** Every distinct placeholder in the text, sorted. */
  public readonly placeholders: readonly string[];
  /** Every Task state's integration, in definition order (nested Parallel/Map states included). */
  public readonly tasks: readonly TaskIntegration[];

  constructor(
    /** Where the text came from, for messages. */
    public readonly source: string,
    /** The definition exactly as written; Step Functions substitutes the placeholders at deploy. */
    public readonly text: string,
  ) {
    let parsed: { States?: Record<string, AslState>; QueryLanguage?: string };
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new WorkflowDefinitionError(`${source}: not valid JSON (${(e as Error).message})`);
    }
    if (parsed.QueryLanguage && parsed.QueryLanguage !== 'JSONPath') {
      throw new WorkflowDefinitionError(`${source}: QueryLanguage ${parsed.QueryLanguage} is not supported (Gantry workflows are JSONPath)`);
    }
    this.placeholders = [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))].sort();
    const tasks: TaskIntegration[] = [];
    this.collect(parsed.States ?? {}, tasks);
    this.tasks = tasks;
  }

  /** Placeholders of the Lambda functions the definition invokes. */
  get functionPlaceholders(): string[] {
    return [...new Set(this.tasks.flatMap((t) => (t.kind === 'lambda' ? [t.functionPlaceholder] : [])))].sort();
  }

  /** CodeBuild projects the definition starts, with whether any start waits for the build (`.sync`). */
  get codeBuildProjects(): Array<{ placeholder: string; sync: boolean }> {
    const out = new Map<string, boolean>();
    for (const t of this.tasks) if (t.kind === 'codebuild') out.set(t.projectPlaceholder, (out.get(t.projectPlaceholder) ?? false) || t.sync);
    return [...out].map(([placeholder, sync]) => ({ placeholder, sync })).sort((a, b) => a.placeholder.localeCompare(b.placeholder));
  }

  /** The drivers whose CodeBuild project the definition starts (by `DRIVER_PROJECTS` placeholder), sorted. */
  get codeBuildDrivers(): CodeBuildDriver[] {
    const used = new Set(this.codeBuildProjects.map((p) => p.placeholder));
    return (Object.keys(DRIVER_PROJECTS) as CodeBuildDriver[]).filter((d) => used.has(DRIVER_PROJECTS[d])).sort();
  }

  /**
   * Every `deploy.driver` the definition can run: the CodeBuild drivers it starts, and `kubernetes` when it writes a
   * Deployment with `eks:call` (any method but GET and HEAD; the Kubernetes driver PUTs). Sorted.
   */
  get drivers(): Array<CodeBuildDriver | NativeDriver> {
    const native: NativeDriver[] = this.tasks.some((t) => t.kind === 'eks-call' && t.method !== undefined && t.method !== 'GET' && t.method !== 'HEAD') ? ['kubernetes'] : [];
    return [...this.codeBuildDrivers, ...native].sort();
  }

  /** Placeholders of the state machines the definition runs as nested executions, sorted. */
  get nestedStateMachines(): string[] {
    return [...new Set(this.tasks.flatMap((t) => (t.kind === 'start-execution' ? [t.stateMachinePlaceholder] : [])))].sort();
  }

  /**
   * What the workflow role needs to run nested executions with `.sync:2`: `states:StartExecution` on the state
   * machines, `states:DescribeExecution` and `states:StopExecution` on their executions, and the managed rule.
   * @param stateMachines each nested state machine's ARN and its executions' ARN pattern, by placeholder.
   */
  startExecutionGrants(stateMachines: Readonly<Record<string, { arn: string; executions: string }>>, managedRuleArn: string): GrantStatement[] {
    const used = this.nestedStateMachines;
    if (used.length === 0) return [];
    const missing = used.filter((p) => stateMachines[p] === undefined);
    if (missing.length > 0)
      throw new WorkflowDefinitionError(`${this.source}: runs state machine(s) ${missing.map((p) => `\${${p}}`).join(', ')} the control plane has no ARN for`);
    const of = used.map((p) => stateMachines[p] as { arn: string; executions: string });
    return [
      { sid: 'StartNestedWorkflows', actions: ['states:StartExecution'], resources: of.map((s) => s.arn) },
      { sid: 'WatchNestedWorkflows', actions: ['states:DescribeExecution', 'states:StopExecution'], resources: of.map((s) => s.executions) },
      { sid: 'ManagedNestedWorkflowRule', actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [managedRuleArn] },
    ];
  }

  /** Whether any task calls `aws-sdk:eks:describeCluster`. */
  get describesClusters(): boolean {
    return this.tasks.some((t) => t.kind === 'eks-describe-cluster');
  }

  /**
   * What the workflow role needs for its EKS tasks: `eks:DescribeCluster` on exactly `clusterArns` (the clusters the
   * Kubernetes stages name) when the definition describes clusters. `eks:call` itself needs no IAM statement: the
   * request is signed as the workflow role and authorised by the cluster (an EKS access entry for that role with a
   * namespace-scoped access policy or RBAC; docs/drivers.md). Empty when the definition has no EKS task or there is
   * no cluster to describe.
   */
  eksGrants(clusterArns: readonly string[]): GrantStatement[] {
    if (!this.describesClusters || clusterArns.length === 0) return [];
    return [{ sid: 'DescribeKubernetesClusters', actions: ['eks:DescribeCluster'], resources: [...new Set(clusterArns)].sort() }];
  }

  /**
   * What the workflow role needs to run the driver builds the definition starts, whichever projects
   * those are (one statement for all of them, so a definition that starts both the Helm and the
   * Terraform project — a Choice on the stage's driver — gets one grant, not two with one Sid):
   * `codebuild:StartBuild/StopBuild/BatchGetBuilds` on the projects started with `.sync`,
   * `codebuild:StartBuild` alone on those only started, and `events:PutTargets/PutRule/DescribeRule` on
   * the managed rule `.sync` waits on. Empty when the definition starts no build.
   * @param projectArns the ARN of each project, by placeholder.
   * @param managedRuleArn the ARN of `CODEBUILD_SYNC_RULE` in the stack's account and region.
   * @throws WorkflowDefinitionError naming every started project `projectArns` has no ARN for.
   */
  codeBuildGrants(projectArns: Readonly<Record<string, string>>, managedRuleArn: string): GrantStatement[] {
    const projects = this.codeBuildProjects;
    const missing = projects.filter((p) => projectArns[p.placeholder] === undefined).map((p) => `\${${p.placeholder}}`);
    if (missing.length > 0) {
      throw new WorkflowDefinitionError(`${this.source}: starts CodeBuild project(s) ${missing.join(', ')} the control plane does not have`);
    }
    const arnsOf = (sync: boolean) => projects.filter((p) => p.sync === sync).map((p) => projectArns[p.placeholder] as string);
    const grants: GrantStatement[] = [];
    if (arnsOf(true).length > 0) {
      grants.push({ sid: 'RunDriverBuilds', actions: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'], resources: arnsOf(true) });
      grants.push({ sid: 'ManagedCodeBuildCompletionRule', actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [managedRuleArn] });
    }
    if (arnsOf(false).length > 0) grants.push({ sid: 'StartDriverBuilds', actions: ['codebuild:StartBuild'], resources: arnsOf(false) });
    return grants;
  }

  /**
   * The `DefinitionSubstitutions` for this definition: exactly its placeholders.
   * @throws WorkflowDefinitionError naming every placeholder `values` has no value for.
   */
  substitutions(values: Readonly<Record<string, string>>): Record<string, string> {
    const missing = this.placeholders.filter((p) => values[p] === undefined);
    if (missing.length > 0) {
      throw new WorkflowDefinitionError(
        `${this.source}: no value for placeholder(s) ${missing.map((p) => `\${${p}}`).join(', ')}; known: ${Object.keys(values).sort().join(', ')}`,
      );
    }
    return Object.fromEntries(this.placeholders.map((p) => [p, values[p] as string]));
  }

  private collect(states: Record<string, AslState>, out: TaskIntegration[]): void {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') out.push(this.integration(name, state));
      for (const b of state.Branches ?? []) this.collect(b.States ?? {}, out);
      if (state.Iterator?.States) this.collect(state.Iterator.States, out);
      if (state.ItemProcessor?.States) this.collect(state.ItemProcessor.States, out);
    }
  }

  private integration(state: string, s: AslState): TaskIntegration {
    const resource = s.Resource ?? '';
    const direct = wholePlaceholder(resource);
    if (direct) return { kind: 'lambda', state, functionPlaceholder: direct };
    if (LAMBDA_INVOKE.test(resource)) {
      const fn = wholePlaceholder(s.Parameters?.FunctionName);
      if (!fn)
        throw new WorkflowDefinitionError(
          `${this.source}: state ${state} invokes a Lambda function that is not a \${Placeholder} (FunctionName must be one, so it can be granted)`,
        );
      return { kind: 'lambda', state, functionPlaceholder: fn };
    }
    if (resource === EKS_DESCRIBE_CLUSTER) return { kind: 'eks-describe-cluster', state };
    if (resource === START_EXECUTION_SYNC) {
      const sm = wholePlaceholder(s.Parameters?.StateMachineArn);
      if (!sm)
        throw new WorkflowDefinitionError(
          `${this.source}: state ${state} starts a state machine that is not a \${Placeholder} (StateMachineArn must be one, so it can be granted)`,
        );
      return { kind: 'start-execution', state, stateMachinePlaceholder: sm };
    }
    if (resource === EKS_CALL) {
      const method = s.Parameters?.Method;
      return { kind: 'eks-call', state, method: typeof method === 'string' ? method : undefined };
    }
    const cb = CODEBUILD_START.exec(resource);
    if (cb) {
      const project = wholePlaceholder(s.Parameters?.ProjectName);
      if (!project)
        throw new WorkflowDefinitionError(
          `${this.source}: state ${state} starts a CodeBuild project that is not a \${Placeholder} (ProjectName must be one, so it can be granted)`,
        );
      const known: readonly string[] = Object.values(DRIVER_PROJECTS);
      if (!known.includes(project)) {
        throw new WorkflowDefinitionError(
          `${this.source}: state ${state} starts the CodeBuild project \${${project}}, which is not a driver project (${known.map((p) => `\${${p}}`).join(', ')})`,
        );
      }
      return { kind: 'codebuild', state, projectPlaceholder: project, sync: cb[1] === '.sync' };
    }
    throw new WorkflowDefinitionError(
      `${this.source}: state ${state} uses ${JSON.stringify(resource)}, an integration the control plane has no grant for; add its grant to lib/ReleaseControlPlane.ts`,
    );
  }
}

/**
 * The local clusters: Kubernetes Deployments as the EKS API server would hold them, reached the way Step Functions
 * reaches a real cluster (`arn:aws:states:::eks:call`, after `aws-sdk:eks:describeCluster`). The Kubernetes driver
 * reads a Deployment, PUTs it back with a new container image (a stale `resourceVersion` is a 409 Conflict) and
 * reads its rollout; the insight check reads the running image to find
 * drift; a scenario can change an image out of band (as someone running `kubectl set image` would).
 *
 * Shared interface (used by the local engine for eks:call and by the insight check): keep the method names stable.
 * `cluster` is the config's cluster key (`stages[].cluster`, e.g. "prod"); the engine maps eks:call's ClusterName
 * (the EKS cluster name) to it.
 *
 * A rollout is played in virtual time and read lazily: a PUT that changes the pod template bumps the generation
 * and starts a rollout that completes (or, when the scenario says the deploy fails, stalls with
 * `ProgressDeadlineExceeded`) once its duration has passed; every read shows the status of that moment.
 */
import { type GantryConfig, stageClusters, stageWorkload } from '../lambdas/domain/config';
import type { VirtualClock } from './clock';

/** The `arn:aws:states:::eks:call` parameters (Step Functions developer guide, "Call Amazon EKS"). */
export interface EksCallRequest {
  readonly ClusterName: string;
  readonly CertificateAuthority?: string;
  readonly Endpoint?: string;
  readonly Method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'PATCH';
  readonly Path: string;
  readonly QueryParameters?: Record<string, string[]>;
  readonly RequestBody?: unknown;
}

/** The `eks:call` task result. */
export interface EksCallResponse {
  readonly ResponseBody: unknown;
  readonly StatusCode: number;
  readonly StatusText: string;
  readonly Headers: Record<string, string[]>;
}

export interface LocalContainer {
  name: string;
  image: string;
  [field: string]: unknown;
}

export interface LocalCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastUpdateTime: string;
}

/** A rollout in progress or finished: how it ends and when (virtual time). */
export interface LocalRollout {
  readonly generation: number;
  readonly startedMs: number;
  readonly endsMs: number;
  readonly result: 'SUCCEEDED' | 'FAILED';
  readonly message?: string;
}

/** How a PUT's rollout plays out (from the scenario's `deploy` script line; default: succeeds after PT1M). */
export interface RolloutScript {
  readonly durationMs: number;
  readonly result: 'SUCCEEDED' | 'FAILED';
  readonly message?: string;
}

/** Just enough of apps/v1 Deployment for a rollout and a drift read. */
export interface LocalDeployment {
  cluster: string;
  namespace: string;
  name: string;
  generation: number;
  resourceVersion: number;
  annotations: Record<string, string>;
  replicas: number;
  progressDeadlineSeconds: number;
  containers: LocalContainer[];
  status: {
    observedGeneration: number;
    replicas: number;
    updatedReplicas: number;
    readyReplicas: number;
    availableReplicas: number;
    unavailableReplicas?: number;
    conditions: LocalCondition[];
  };
  rollout?: LocalRollout;
}

/** An HTTPRoute (gateway.networking.k8s.io/v1), as a canary's traffic router (docs/decisions/043-canary-steps.md). */
export interface LocalHttpRoute {
  cluster: string;
  namespace: string;
  name: string;
  generation: number;
  resourceVersion: number;
  spec: {
    parentRefs?: unknown[];
    rules: Array<{ backendRefs: Array<{ name: string; port?: number; weight?: number; [f: string]: unknown }>; [f: string]: unknown }>;
    [f: string]: unknown;
  };
}

/** One accepted PUT of an HTTPRoute: the weight of each backendRef (by Service name) from then on. */
export interface RouteChange {
  readonly at: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
  readonly weights: Record<string, number>;
}

const ROUTE_PATH = /^\/apis\/gateway\.networking\.k8s\.io\/v1\/namespaces\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/httproutes\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;
const DEPLOYMENT_PATH = /^\/apis\/apps\/v1\/namespaces\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/deployments\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;
const DEFAULT_ROLLOUT: RolloutScript = { durationMs: 60_000, result: 'SUCCEEDED' };
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Kubernetes `Status` response, as the API server sends for an error. */
function status(code: number, statusText: string, reason: string, message: string, details?: Record<string, unknown>): EksCallResponse {
  return {
    StatusCode: code,
    StatusText: statusText,
    Headers: { 'Content-Type': ['application/json'] },
    ResponseBody: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code },
  };
}

/** What a PUT names: the object it replaces, as the API server checks a replace before applying it. */
interface PutTarget {
  readonly kind: 'Deployment' | 'HTTPRoute';
  readonly name: string;
  readonly namespace: string;
  readonly resourceVersion: number;
  /** `deployments` in `apps`, `httproutes` in `gateway.networking.k8s.io`: the resource in the API server's messages. */
  readonly plural: string;
  readonly group: string;
}

/**
 * The body of a PUT, checked as the API server checks a replace: JSON, an object of the URL's kind, name and namespace,
 * and (when it carries one) the object's current resourceVersion — else 400, or 409 Conflict.
 */
function putBody(raw: unknown, t: PutTarget): { ok: true; body: Record<string, unknown> } | { ok: false; response: EksCallResponse } {
  const refuse = (response: EksCallResponse) => ({ ok: false as const, response });
  let body = raw;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return refuse(status(400, 'Bad Request', 'BadRequest', 'the body of the request was in an unknown format'));
    }
  }
  if (!isRecord(body)) return refuse(status(400, 'Bad Request', 'BadRequest', 'the body is not a JSON object'));
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  if (body.kind !== undefined && body.kind !== t.kind) return refuse(status(400, 'Bad Request', 'BadRequest', `the object kind ${JSON.stringify(body.kind)} is not ${t.kind}`));
  if (metadata.name !== t.name)
    return refuse(status(400, 'Bad Request', 'BadRequest', `the name of the object (${String(metadata.name ?? '')}) does not match the name on the URL (${t.name})`));
  if (metadata.namespace !== undefined && metadata.namespace !== t.namespace)
    return refuse(
      status(400, 'Bad Request', 'BadRequest', `the namespace of the object (${String(metadata.namespace)}) does not match the namespace on the request (${t.namespace})`),
    );
  if (metadata.resourceVersion !== undefined && String(metadata.resourceVersion) !== String(t.resourceVersion)) {
    const resource = `${t.plural}.${t.group}`;
    return refuse(
      status(
        409,
        'Conflict',
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
        {
          name: t.name,
          group: t.group,
          kind: t.plural,
        },
      ),
    );
  }
  return { ok: true, body };
}

export class LocalKube {
  private readonly deployments = new Map<string, LocalDeployment>();
  private readonly routes = new Map<string, LocalHttpRoute>();
  /** Every accepted PUT of an HTTPRoute, in order (what a test reads to see when traffic moved). */
  readonly routeChanges: RouteChange[] = [];
  /** Every accepted PUT that changed a Deployment's replicas: when, and to how many. */
  readonly scaleChanges: Array<{ at: string; cluster: string; namespace: string; name: string; replicas: number }> = [];

  constructor(readonly clock: VirtualClock) {}

  static key(cluster: string, namespace: string, name: string): string {
    return `${cluster}/${namespace}/${name}`;
  }

  /** Create (or replace) a Deployment that is fully rolled out on `containers`. */
  seed(cluster: string, namespace: string, name: string, containers: LocalContainer[], replicas = 3): LocalDeployment {
    const now = this.clock.now().toISOString();
    const d: LocalDeployment = {
      cluster,
      namespace,
      name,
      generation: 1,
      resourceVersion: 1,
      annotations: {},
      replicas,
      progressDeadlineSeconds: 600,
      containers: containers.map((c) => ({ ...c })),
      status: {
        observedGeneration: 1,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: now },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.`, lastUpdateTime: now },
        ],
      },
    };
    this.deployments.set(LocalKube.key(cluster, namespace, name), d);
    return d;
  }

  /** Create (or replace) an HTTPRoute whose one rule sends `weights` (Service name → weight) to its backendRefs. */
  seedRoute(cluster: string, namespace: string, name: string, weights: Record<string, number>): LocalHttpRoute {
    const r: LocalHttpRoute = {
      cluster,
      namespace,
      name,
      generation: 1,
      resourceVersion: 1,
      spec: {
        parentRefs: [{ name: 'gateway', namespace }],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: Object.entries(weights).map(([svc, weight]) => ({ name: svc, port: 80, weight })) }],
      },
    };
    this.routes.set(LocalKube.key(cluster, namespace, name), r);
    return r;
  }

  route(cluster: string, namespace: string, name: string): LocalHttpRoute | undefined {
    return this.routes.get(LocalKube.key(cluster, namespace, name));
  }

  /** Every HTTPRoute, for the simulation's output. */
  allRoutes(): LocalHttpRoute[] {
    return [...this.routes.values()];
  }

  get(cluster: string, namespace: string, name: string): LocalDeployment | undefined {
    const d = this.deployments.get(LocalKube.key(cluster, namespace, name));
    if (d) this.refresh(d);
    return d;
  }

  /** The image a container runs now (what `kubectl get deploy -o jsonpath` would print), or undefined. */
  runningImage(cluster: string, namespace: string, name: string, container: string): string | undefined {
    return this.get(cluster, namespace, name)?.containers.find((c) => c.name === container)?.image;
  }

  /**
   * Set a container's image and complete the rollout at once: what a driver that ran to success leaves behind
   * (Helm/Terraform in the local engine), or an out-of-band `kubectl set image` in a scenario. Creates the
   * Deployment when it does not exist.
   */
  setImage(cluster: string, namespace: string, name: string, container: string, image: string): void {
    const d = this.get(cluster, namespace, name) ?? this.seed(cluster, namespace, name, [{ name: container, image }]);
    const c = d.containers.find((x) => x.name === container);
    if (c) c.image = image;
    else d.containers.push({ name: container, image });
    d.generation++;
    d.resourceVersion++;
    d.rollout = undefined;
    this.complete(d);
  }

  /** Every Deployment, for the simulation's output. */
  all(): LocalDeployment[] {
    const all = [...this.deployments.values()];
    for (const d of all) this.refresh(d);
    return all;
  }

  /** The rollout a Deployment is in or last finished (undefined when none was started by a PUT). */
  rolloutOf(cluster: string, namespace: string, name: string): (LocalRollout & { ended: boolean }) | undefined {
    const d = this.get(cluster, namespace, name);
    if (!d?.rollout) return undefined;
    return { ...d.rollout, ended: this.clock.nowMs() >= d.rollout.endsMs };
  }

  /**
   * The Kubernetes API behind `eks:call`, for apps/v1 Deployments: GET and PUT of
   * `/apis/apps/v1/namespaces/<ns>/deployments/<name>`. An absent Deployment is a 404 with a `Status` body; any other
   * method is a 405 (the insight check and the Kubernetes driver only GET and PUT).
   * PUT replaces the object as the API server does: the body must be the Deployment named by the path; its
   * `metadata.annotations`, `spec.replicas` (default 1) and `spec.template.spec.containers` replace the stored ones;
   * a `metadata.resourceVersion` that is not the current one is a 409 Conflict (none: an unconditional update, which
   * Deployments allow). Every accepted PUT bumps the resourceVersion; a changed spec bumps the generation, and a
   * changed pod template starts a rollout played by `rollout`.
   * @param options.cluster the config's cluster key the request's ClusterName resolves to (default: ClusterName).
   */
  eksCall(req: EksCallRequest, options: { cluster?: string; rollout?: RolloutScript } = {}): EksCallResponse {
    const cluster = options.cluster ?? req.ClusterName;
    const rm = ROUTE_PATH.exec(req.Path);
    if (rm) return this.routeCall(req, cluster, rm[1] as string, rm[3] as string);
    const m = DEPLOYMENT_PATH.exec(req.Path);
    if (!m)
      return status(
        404,
        'Not Found',
        'NotFound',
        `the server could not find the requested resource (${req.Method} ${req.Path}; the local cluster serves apps/v1 Deployments and gateway.networking.k8s.io/v1 HTTPRoutes only)`,
      );
    const namespace = m[1] as string;
    const name = m[3] as string;
    const d = this.get(cluster, namespace, name);
    if (req.Method !== 'GET' && req.Method !== 'PUT')
      return status(405, 'Method Not Allowed', 'MethodNotAllowed', `${req.Method} is not supported by the local cluster (GET and PUT only)`);
    if (!d) return status(404, 'Not Found', 'NotFound', `deployments.apps "${name}" not found`, { name, group: 'apps', kind: 'deployments' });
    if (req.Method === 'PUT') {
      const problem = this.replace(d, req.RequestBody, options.rollout ?? DEFAULT_ROLLOUT);
      if (problem) return problem;
    }
    return { StatusCode: 200, StatusText: 'OK', Headers: { 'Content-Type': ['application/json'] }, ResponseBody: this.render(d) };
  }

  // ------------------------------------------------------------ internals

  /** GET and PUT of an HTTPRoute: a stale resourceVersion is a 409; a PUT replaces its spec (every rule and backendRef). */
  private routeCall(req: EksCallRequest, cluster: string, namespace: string, name: string): EksCallResponse {
    if (req.Method !== 'GET' && req.Method !== 'PUT')
      return status(405, 'Method Not Allowed', 'MethodNotAllowed', `${req.Method} is not supported by the local cluster (GET and PUT only)`);
    const r = this.routes.get(LocalKube.key(cluster, namespace, name));
    if (!r)
      return status(404, 'Not Found', 'NotFound', `httproutes.gateway.networking.k8s.io "${name}" not found`, { name, group: 'gateway.networking.k8s.io', kind: 'httproutes' });
    if (req.Method === 'PUT') {
      const put = putBody(req.RequestBody, { kind: 'HTTPRoute', name, namespace, resourceVersion: r.resourceVersion, plural: 'httproutes', group: 'gateway.networking.k8s.io' });
      if (!put.ok) return put.response;
      const body = put.body;
      const spec = isRecord(body.spec) ? body.spec : {};
      const rules = Array.isArray(spec.rules) ? spec.rules : [];
      for (const rule of rules) {
        const refs = isRecord(rule) && Array.isArray(rule.backendRefs) ? rule.backendRefs : [];
        for (const b of refs) {
          const w = isRecord(b) ? b.weight : undefined;
          if (w !== undefined && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 1_000_000))
            return status(422, 'Unprocessable Entity', 'Invalid', 'spec.rules[].backendRefs[].weight: Invalid value: must be between 0 and 1000000');
        }
      }
      r.spec = structuredClone(spec) as LocalHttpRoute['spec'];
      r.resourceVersion++;
      r.generation++;
      const weights: Record<string, number> = {};
      for (const rule of r.spec.rules ?? []) for (const b of rule.backendRefs ?? []) weights[b.name] = b.weight ?? 1;
      this.routeChanges.push({ at: this.clock.now().toISOString(), cluster, namespace, name, weights });
    }
    return {
      StatusCode: 200,
      StatusText: 'OK',
      Headers: { 'Content-Type': ['application/json'] },
      ResponseBody: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name, namespace, generation: r.generation, resourceVersion: String(r.resourceVersion) },
        spec: structuredClone(r.spec),
      },
    };
  }

  private replace(d: LocalDeployment, raw: unknown, script: RolloutScript): EksCallResponse | undefined {
    const put = putBody(raw, { kind: 'Deployment', name: d.name, namespace: d.namespace, resourceVersion: d.resourceVersion, plural: 'deployments', group: 'apps' });
    if (!put.ok) return put.response;
    const body = put.body;
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const spec = isRecord(body.spec) ? body.spec : {};
    const template = isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : {};
    const given = Array.isArray(template.containers) ? template.containers : [];
    if (given.length === 0) return status(422, 'Unprocessable Entity', 'Invalid', 'spec.template.spec.containers: Required value');
    for (const c of given)
      if (!isRecord(c) || typeof c.name !== 'string') return status(422, 'Unprocessable Entity', 'Invalid', 'spec.template.spec.containers: every container needs a name');
    const containers = (given as LocalContainer[]).map((c) => ({ ...c }));
    if (containers.some((c) => typeof c.image !== 'string' || c.image === ''))
      return status(422, 'Unprocessable Entity', 'Invalid', 'spec.template.spec.containers[].image: Required value');
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const templateChanged = JSON.stringify(containers) !== JSON.stringify(d.containers);
    const replicasChanged = replicas !== d.replicas;
    d.annotations = isRecord(metadata.annotations) ? Object.fromEntries(Object.entries(metadata.annotations).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
    if (replicas !== d.replicas) this.scaleChanges.push({ at: this.clock.now().toISOString(), cluster: d.cluster, namespace: d.namespace, name: d.name, replicas });
    d.replicas = replicas;
    d.containers = containers;
    d.resourceVersion++;
    if (templateChanged || replicasChanged) d.generation++;
    if (templateChanged) {
      const now = this.clock.nowMs();
      d.rollout = { generation: d.generation, startedMs: now, endsMs: now + script.durationMs, result: script.result, ...(script.message ? { message: script.message } : {}) };
    }
    this.refresh(d);
    return undefined;
  }

  /** Bring a Deployment's status to the current virtual time. */
  private refresh(d: LocalDeployment): void {
    const r = d.rollout;
    if (!r || r.generation !== d.generation) {
      // No rollout of this generation (a replicas-only change, or none at all): the controller has observed it,
      // and a replicas-only change is done at once (the local cluster starts and stops pods instantly).
      if (d.status.observedGeneration !== d.generation && d.status.replicas !== d.replicas) this.complete(d);
      d.status.observedGeneration = d.generation;
      return;
    }
    const now = this.clock.nowMs();
    const at = new Date(Math.min(now, r.endsMs)).toISOString();
    const rs = `${d.name}-${d.generation.toString(16).padStart(4, '0')}`;
    if (now >= r.endsMs && r.result === 'SUCCEEDED') {
      this.complete(d, new Date(r.endsMs).toISOString());
      return;
    }
    const surge = d.replicas > 0 ? 1 : 0;
    d.status = {
      observedGeneration: d.generation,
      replicas: d.replicas + surge,
      updatedReplicas: surge,
      readyReplicas: d.replicas,
      availableReplicas: d.replicas,
      unavailableReplicas: surge,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: at },
        now >= r.endsMs
          ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: r.message ?? `ReplicaSet "${rs}" has timed out progressing.`, lastUpdateTime: at }
          : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rs}" is progressing.`, lastUpdateTime: at },
      ],
    };
  }

  private complete(d: LocalDeployment, at = this.clock.now().toISOString()): void {
    d.status = {
      observedGeneration: d.generation,
      replicas: d.replicas,
      updatedReplicas: d.replicas,
      readyReplicas: d.replicas,
      availableReplicas: d.replicas,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: at },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${d.name}-${d.generation.toString(16).padStart(4, '0')}" has successfully progressed.`,
          lastUpdateTime: at,
        },
      ],
    };
  }

  /** The Deployment as the API server returns it (the fields Gantry reads). */
  private render(d: LocalDeployment): Record<string, unknown> {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: d.name,
        namespace: d.namespace,
        generation: d.generation,
        resourceVersion: String(d.resourceVersion),
        ...(Object.keys(d.annotations).length ? { annotations: { ...d.annotations } } : {}),
      },
      spec: {
        replicas: d.replicas,
        progressDeadlineSeconds: d.progressDeadlineSeconds,
        selector: { matchLabels: { app: d.name } },
        template: { metadata: { labels: { app: d.name } }, spec: { containers: d.containers.map((c) => ({ ...c })) } },
      },
      status: structuredClone(d.status),
    };
  }
}

/**
 * Deployments at the start of a simulation: for each `stages["svc/stage"].running` of a stage with a workload
 * (`stageWorkload`), the workload's container runs `<registry>/<repository>@<running>`, fully rolled out.
 */
export function seedWorkloads(kube: LocalKube, config: GantryConfig, stages: Record<string, { running?: string }>, registry: string): void {
  for (const [key, st] of Object.entries(stages)) {
    const [service, stage] = key.split('/') as [string, string];
    const svc = config.services[service];
    const cfg = svc?.stages.find((s) => s.name === stage);
    const w = cfg ? stageWorkload(cfg) : undefined;
    if (svc && cfg && w && st.running) {
      const image = `${registry}/${svc.repository}@${st.running}`;
      // Every cluster of a wave stage runs the stage's digest (decision 044).
      for (const cluster of stageClusters(cfg)) kube.seed(cluster, cfg.namespace, w.deployment, [{ name: w.container, image }]);
      seedCanary(kube, cfg, image);
    }
  }
}

/**
 * A canary stage's cluster-side objects (docs/drivers.md): the canary Deployment at 0 replicas on the stable's image,
 * and, for traffic `gateway-api`, the HTTPRoute with two backendRefs, the stable Service at 100 and the canary's at 0.
 */
function seedCanary(kube: LocalKube, cfg: NonNullable<GantryConfig['services'][string]['stages'][number]>, image: string): void {
  if (cfg.deploy.driver !== 'kubernetes' || !cfg.deploy.rollout) return;
  const r = cfg.deploy.rollout;
  const canary = r.canaryDeployment ?? `${cfg.deploy.deployment}-canary`;
  kube.seed(cfg.cluster, cfg.namespace, canary, [{ name: cfg.deploy.container, image }], 0);
  if (r.route) kube.seedRoute(cfg.cluster, r.route.namespace ?? cfg.namespace, r.route.name, { [r.stableService ?? cfg.deploy.deployment]: 100, [r.canaryService ?? canary]: 0 });
}

/**
 * The local clusters: Kubernetes Deployments as the EKS API server would hold them, reached the way Step Functions
 * reaches a real cluster (`arn:aws:states:::eks:call`, after `aws-sdk:eks:describeCluster`). The Kubernetes driver
 * patches a Deployment's container image and reads its rollout; the insight check reads the running image to find
 * drift; a scenario can change an image out of band (as someone running `kubectl set image` would).
 *
 * Shared interface (used by the local engine for eks:call and by the insight check): keep the method names stable.
 */
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
}

/** Just enough of apps/v1 Deployment for a rollout and a drift read. */
export interface LocalDeployment {
  cluster: string;
  namespace: string;
  name: string;
  generation: number;
  replicas: number;
  progressDeadlineSeconds: number;
  containers: LocalContainer[];
  status: {
    observedGeneration: number;
    replicas: number;
    updatedReplicas: number;
    readyReplicas: number;
    availableReplicas: number;
    conditions: Array<{ type: string; status: 'True' | 'False'; reason: string; message: string; lastUpdateTime: string }>;
  };
}

export class LocalKube {
  private readonly deployments = new Map<string, LocalDeployment>();

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

  get(cluster: string, namespace: string, name: string): LocalDeployment | undefined {
    return this.deployments.get(LocalKube.key(cluster, namespace, name));
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
    d.status.observedGeneration = d.generation;
    d.status.updatedReplicas = d.replicas;
    d.status.availableReplicas = d.replicas;
    d.status.readyReplicas = d.replicas;
  }

  /** Every Deployment, for the simulation's output. */
  all(): LocalDeployment[] {
    return [...this.deployments.values()];
  }
}

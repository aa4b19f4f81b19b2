/**
 * `gantry doctor --local <dir>`: the DoctorReader over the local cloud of a local Gantry (a simulation made by
 * `gantry simulate <scenario> --state <dir>`). The scenario's optional `eks`, `registryScanning`, `trails`, `kms`
 * and `ecr.<repo>.scanOnPush` describe the account (docs/scenarios.md); alarms are as they stand at the local
 * Gantry's "now". Gantry's roles are the local cloud's (LOCAL_ROLE_ARNS).
 */
import { join } from 'node:path';
import type { AccessRole } from '../../lambdas/domain/access-entries';
import type { GantryConfig } from '../../lambdas/domain/config';
import { parseIsoDuration } from '../../lambdas/domain/durations';
import type { AccessEntryFacts, AlarmFacts, ClusterFacts, KeyFacts, RegistryScanningFacts, RepositoryFacts, TrailFacts } from '../../lambdas/domain/doctor';
import { VirtualClock } from '../../local/clock';
import { LOCAL_ROLE_ARNS, LocalCloud, REGION } from '../../local/cloud';
import { loadScenario } from '../../local/scenario';
import type { DoctorReader } from './doctor-reader';
import { LocalBackend, readState, STATE_FILE } from './local-backend';

export class LocalDoctorReader implements DoctorReader {
  constructor(
    private readonly cloud: LocalCloud,
    private readonly config: GantryConfig,
    private readonly alarmStates: (names: readonly string[]) => Promise<Record<string, string>>,
  ) {}

  async describeCluster(name: string): Promise<ClusterFacts | undefined> {
    return this.cloud.eksCluster(name);
  }

  async listAccessEntries(cluster: string): Promise<string[]> {
    return this.cloud.eksAccessEntries(cluster, this.config).map((e) => e.principalArn);
  }

  async describeAccessEntry(cluster: string, _region: string, principalArn: string): Promise<AccessEntryFacts | undefined> {
    return this.cloud.eksAccessEntries(cluster, this.config).find((e) => e.principalArn === principalArn);
  }

  async describeRepository(name: string): Promise<RepositoryFacts | undefined> {
    return this.cloud.repositorySettings(name);
  }

  async registryScanning(): Promise<RegistryScanningFacts> {
    return this.cloud.registryScanningConfiguration();
  }

  async describeAlarms(names: readonly string[]): Promise<AlarmFacts[]> {
    const states = await this.alarmStates(names);
    return names.flatMap((name) => (states[name] && states[name] !== 'MISSING' ? [{ name, state: states[name] as string }] : []));
  }

  async trails(): Promise<TrailFacts[]> {
    return this.cloud
      .cloudTrails()
      .map((t) => ({ name: t.name, homeRegion: t.homeRegion, multiRegion: t.multiRegion, logging: { ok: true, value: t.logging }, selectors: { ok: true, value: t.selectors } }));
  }

  async describeKey(arn: string): Promise<KeyFacts | undefined> {
    return this.cloud.kmsKey(arn);
  }
}

export interface LocalDoctor {
  readonly reader: LocalDoctorReader;
  readonly config: GantryConfig;
  readonly region: string;
  readonly roles: Readonly<Record<AccessRole, string>>;
  readonly label: string;
}

/** Open a local Gantry for doctor: its config, its local cloud at "now" (pushes made by then included), its alarms at "now". */
export function openLocalDoctor(dir: string): LocalDoctor {
  const backend = new LocalBackend(dir);
  const state = readState(dir);
  const { scenario } = loadScenario(state.scenario, state.baseDir, join(dir, STATE_FILE));
  const now = Date.parse(state.now);
  const cloud = new LocalCloud(scenario, new VirtualClock(new Date(now)));
  // A push to a repository the scenario did not declare creates it, as ECR's would be by then.
  for (const t of scenario.triggers) {
    if (t.type === 'ecr-push' && Date.parse(scenario.clock) + parseIsoDuration(t.at) <= now) cloud.pushImage(t.repository, t.digest, t.tag);
  }
  const config = backend.config();
  return { reader: new LocalDoctorReader(cloud, config, (names) => backend.alarmStates(names)), config, region: REGION, roles: LOCAL_ROLE_ARNS, label: backend.label };
}

/** The Helm driver in the local runtime (`gantry simulate`): the evidence a simulated build exports. */
import { createHash } from 'node:crypto';
import type { LocalCloud } from '../../local/cloud';
import type { DriverLocal, LocalDriverRun } from '../../local/drivers';

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The Helm driver's evidence: `helm status -o json` after the run (revision, status, chart, values) —
 * a revision per run of the stage, counting the one the scenario says was running before — and its
 * sha256. The simulation does not model `--atomic`'s own rollback revision: a failed run reports
 * its revision as failed. Helm uploads nothing, so there is no HELM_STATUS_KEY.
 */
function helmStatus(
  cloud: LocalCloud,
  run: LocalDriverRun,
  deploy: {
    release?: string;
    chart?: string;
    version?: string;
    values?: { repositoryKey: string; digestKey: string };
  },
  failure: string | undefined,
): Record<string, string> {
  const before = cloud.scenario.stages[`${run.service}/${run.stage}`]?.running ? 1 : 0;
  const revision = before + cloud.deployments.filter((x) => x.service === run.service && x.stage === run.stage).length;
  const repository = run.image.slice(0, run.image.lastIndexOf('@'));
  const status = {
    name: deploy.release ?? run.service,
    info: {
      last_deployed: run.at,
      description: failure ? `Upgrade "${deploy.release ?? run.service}" failed: ${failure}` : 'Upgrade complete',
      status: failure ? 'failed' : 'deployed',
    },
    chart: {
      metadata: {
        name: (deploy.chart ?? run.service).split('/').pop(),
        version: deploy.version ?? '0.0.0',
      },
    },
    config: {
      [deploy.values?.repositoryKey ?? 'image.repository']: repository,
      [deploy.values?.digestKey ?? 'image.digest']: run.digest,
    },
    version: revision,
    namespace: run.stage,
  };
  return {
    HELM_REVISION: String(revision),
    HELM_STATUS: status.info.status,
    HELM_STATUS_SHA256: sha256Hex(`${JSON.stringify(status)}\n`),
  };
}

export const local: DriverLocal = {
  failureMessage: 'helm upgrade failed',
  evidence: ({ cloud, run, deploy, failure }) => ({
    exported: helmStatus(cloud, run, deploy.driver === 'helm' ? deploy : {}, failure),
  }),
};

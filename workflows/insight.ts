/**
 * The insight check (daily): reads each stage workload's image through the Kubernetes API and
 * records stale services and drift. Reads only; the retries jitter because many reads start at once.
 */
import { EKS_CALL_READ_RETRY, catchAll, eksCallTask, lambdaTask, type StateMachine } from './builder';

export const insightWorkflow: StateMachine = {
  Comment:
    "Gantry insight check (daily, EventBridge Scheduler): flags services with no promotion to their last stage in insight.staleAfterDays, and stages whose cluster runs another image than the ledger's pointer (drift). Findings are stored as a dated, hash-chained insight record and published as Service Stale / Drift Detected on the Gantry bus. See docs/decisions/010-insight-check.md.",
  StartAt: 'PlanInsightCheck',
  States: {
    PlanInsightCheck: lambdaTask('InsightPlan', {
      Comment:
        "Lists, from the config alone, the stage workloads to read (cluster index, GET path, container name), reads each of their clusters' endpoint and certificate authority once (eks:DescribeCluster in the cluster's region, with the cluster's role in another account: decision 045) and fixes the check's instant. The state carries nothing else: stale services and the ledger's pointers are read by RecordInsight (256 KiB state limit, docs/decisions/020-aws-fidelity.md).",
      Parameters: {
        'checkId.$': '$$.Execution.Name',
      },
      ResultPath: '$.plan',
      Catch: [catchAll('InsightCheckFailed')],
      Next: 'ReadWorkloads',
      TimeoutSeconds: null,
    }),
    ReadWorkloads: {
      Type: 'Map',
      Comment:
        "One iteration per stage workload. A workload that cannot be read is a finding (drift: unreadable or missing), never a failure of the check. Each iteration returns only the containers' names and the workload container's image (about 170 bytes), and the reads replace the plan's list of workloads (ResultPath), so 1,000 workloads stay far below the 256 KiB state limit (test/workflow/insight-payload.test.ts).",
      ItemsPath: '$.plan.workloads',
      ItemSelector: {
        'target.$': '$$.Map.Item.Value',
        'clusters.$': '$.plan.clusters',
      },
      MaxConcurrency: 5,
      ItemProcessor: {
        ProcessorConfig: {
          Mode: 'INLINE',
        },
        StartAt: 'SelectWorkloadCluster',
        States: {
          SelectWorkloadCluster: {
            Type: 'Pass',
            Comment:
              "This workload's cluster from the plan's list (endpoint, certificate authority and role, read once per cluster by PlanInsightCheck in the cluster's region and account); the list itself is not kept.",
            Parameters: {
              'target.$': '$.target',
              'cluster.$': 'States.ArrayGetItem($.clusters, $.target.cluster)',
            },
            Next: 'IsWorkloadClusterReachable',
          },
          IsWorkloadClusterReachable: {
            Type: 'Choice',
            Comment: 'A cluster the plan could not describe (no such cluster, no access to its account): its workloads are unreadable, with the error name.',
            Choices: [{ Variable: '$.cluster.error', IsPresent: true, Next: 'WorkloadClusterUnreachable' }],
            Default: 'ReadDeployment',
          },
          WorkloadClusterUnreachable: {
            Type: 'Pass',
            Parameters: {
              ok: false,
              'error.$': '$.cluster.error',
            },
            End: true,
          },
          ReadDeployment: eksCallTask('$.cluster', [{ ...EKS_CALL_READ_RETRY, JitterStrategy: 'FULL' }], {
            Comment:
              "GET the Deployment (apps/v1) through the Kubernetes API, with the cluster's role; its containers stay in this iteration only (PickWorkloadContainer keeps what drift needs).",
            Parameters: {
              'ClusterName.$': '$.cluster.clusterName',
              'CertificateAuthority.$': '$.cluster.certificateAuthority',
              'Endpoint.$': '$.cluster.endpoint',
              Method: 'GET',
              'Path.$': '$.target.path',
            },
            ResultSelector: {
              'containers.$': '$.ResponseBody.spec.template.spec.containers',
            },
            ResultPath: '$.read',
            Catch: [catchAll('WorkloadUnreadable', '$.failure')],
            Next: 'PickWorkloadContainer',
          }),
          PickWorkloadContainer: {
            Type: 'Map',
            Comment:
              "Per container: its name, and its image only for the workload's container (the Choice compares names). Whole container specs (about 3 KiB each) would fill the state limit at about 80 workloads.",
            ItemsPath: '$.read.containers',
            ItemSelector: {
              'container.$': '$$.Map.Item.Value',
              'want.$': '$.target.container',
            },
            ItemProcessor: {
              ProcessorConfig: {
                Mode: 'INLINE',
              },
              StartAt: 'IsWorkloadContainer',
              States: {
                IsWorkloadContainer: {
                  Type: 'Choice',
                  Comment: "The container the stage's workload names, with an image: keep its image; any other container: its name only.",
                  Choices: [
                    {
                      And: [
                        {
                          Variable: '$.container.name',
                          StringEqualsPath: '$.want',
                        },
                        {
                          Variable: '$.container.image',
                          IsPresent: true,
                        },
                      ],
                      Next: 'KeepContainerImage',
                    },
                  ],
                  Default: 'KeepContainerName',
                },
                KeepContainerImage: {
                  Type: 'Pass',
                  Parameters: {
                    'name.$': '$.container.name',
                    'image.$': '$.container.image',
                  },
                  End: true,
                },
                KeepContainerName: {
                  Type: 'Pass',
                  Parameters: {
                    'name.$': '$.container.name',
                  },
                  End: true,
                },
              },
            },
            ResultPath: '$.containers',
            Catch: [catchAll('WorkloadUnreadable', '$.failure')],
            Next: 'WorkloadRead',
          },
          WorkloadRead: {
            Type: 'Pass',
            Parameters: {
              ok: true,
              'containers.$': '$.containers',
            },
            End: true,
            Comment: "What drift needs: the containers' names and the workload container's image.",
          },
          WorkloadUnreadable: {
            Type: 'Pass',
            Comment:
              'The read failed (no such Deployment, no access, cluster unreachable): recorded as a finding with the error name (the cause, which can be long, stays in the execution history).',
            Parameters: {
              ok: false,
              'error.$': '$.failure.Error',
            },
            End: true,
          },
        },
      },
      ResultPath: '$.plan.workloads',
      Catch: [catchAll('InsightCheckFailed')],
      Next: 'RecordInsight',
    },
    RecordInsight: lambdaTask('InsightRecord', {
      Comment:
        "Reads the stale services and the ledger's pointers as of the plan's instant, compares each read with its pointer, stores the insight record (idempotent by checkId), publishes Service Stale / Drift Detected, emits StaleServices / DriftedStages.",
      Parameters: {
        'checkId.$': '$.plan.checkId',
        'at.$': '$.plan.at',
        'configHash.$': '$.plan.configHash',
        'reads.$': '$.plan.workloads',
      },
      ResultPath: '$.result',
      OutputPath: '$.result',
      Catch: [catchAll('InsightCheckFailed')],
      End: true,
      TimeoutSeconds: null,
    }),
    InsightCheckFailed: {
      Type: 'Fail',
      Comment: 'The check itself could not run (the ledger or a handler failed); the next daily run tries again.',
      Error: 'InsightCheckFailed',
      Cause: 'the insight check could not plan or record its findings (see the execution history)',
    },
  },
};

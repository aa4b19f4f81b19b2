import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { COMMENT_MAX, DECISION_RESOURCE } from '../../lambdas/domain/approvers';
import { OPERATOR_ROUTES } from '../../lambdas/domain/operator-requests';
import { ApprovalApi, ApprovalApiError } from '../../lib/ApprovalApi';
import { HANDLERS, pascalCase } from '../../lib/ReleaseControlPlane';
import { WorkflowDefinition } from '../../lib/WorkflowDefinition';
import { allPolicyStatements, type BuiltGantry, buildGantry, resourcesOfType, ROOT } from './fixtures';

let built: BuiltGantry;
const logicalId = (c: IConstruct) => built.stack.getLogicalId(c.node.defaultChild as CfnElement);
const cp = () => built.stack.controlPlane;
const resources = () => built.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

beforeAll(() => {
  built = buildGantry({ bundle: false });
});

/** `/a/{b}/c` of an API Gateway resource, from its PathPart and its parents. */
function resourcePath(id: string): string {
  const r = resources()[id];
  if (!r || r.Type !== 'AWS::ApiGateway::Resource') return '';
  const parent = r.Properties.ParentId;
  const parentId = parent?.Ref ?? '';
  return `${resourcePath(parentId)}/${r.Properties.PathPart}`;
}

/** The decision method (POST on the decision resource). */
function decisionMethod() {
  return Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Method')).find(
    (m) => resourcePath((m.Properties?.ResourceId as { Ref: string }).Ref) === DECISION_RESOURCE,
  );
}

function rolePolicyStatements(roleLogicalId: string): Array<Record<string, any>> {
  return Object.values(resourcesOfType(built.template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(`"${roleLogicalId}"`))
    .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement);
}

describe('the approval API', () => {
  it('has the decision method and the operator methods, and every one uses AWS_IAM authorization', () => {
    const methods = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Method'));

    for (const m of methods) assert.equal(m.Properties?.AuthorizationType, 'AWS_IAM');
    const routes = methods.map((m) => `${m.Properties?.HttpMethod} ${resourcePath((m.Properties?.ResourceId as { Ref: string }).Ref)}`).sort();
    assert.deepEqual(routes, [`POST ${DECISION_RESOURCE}`, ...Object.values(OPERATOR_ROUTES).map((r) => `${r.method} ${r.resource}`)].sort());
  });

  it('sends the operator routes to the operator-api Lambda through proxy integrations, with a JSON object body', () => {
    const methods = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Method')).filter(
      (m) => resourcePath((m.Properties?.ResourceId as { Ref: string }).Ref) !== DECISION_RESOURCE,
    );

    assert.equal(methods.length, Object.keys(OPERATOR_ROUTES).length);
    for (const m of methods) {
      const p = m.Properties as Record<string, any>;
      assert.equal(p.Integration.Type, 'AWS_PROXY');
      assert.match(JSON.stringify(p.Integration.Uri), new RegExp(`"${logicalId(cp().functions['operator-api'].function)}","Arn"`));
      assert.equal(resources()[p.RequestValidatorId.Ref]?.Properties.ValidateRequestBody, true);
      assert.equal(resources()[p.RequestModels['application/json'].Ref]?.Properties.Schema.type, 'object');
    }
  });

  it('lets only API Gateway invoke operator-api, only for its routes of this API, and no test invocations', () => {
    const permissions = Object.values(resourcesOfType(built.template, 'AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties?.FunctionName).includes(logicalId(cp().functions['operator-api'].function)),
    );

    const routes = permissions.map((p) => {
      assert.equal(p.Properties?.Principal, 'apigateway.amazonaws.com');
      const arn = JSON.stringify(p.Properties?.SourceArn);
      assert.match(arn, new RegExp(`"${logicalId(cp().approvalApi.api)}"`));
      assert.doesNotMatch(arn, /test-invoke-stage/);
      return /\/(POST|PUT)\/(releases|rollbacks|freeze|drills|aborts)"/.exec(arn)?.slice(1).join(' /');
    });
    assert.deepEqual(routes.sort(), ['POST /aborts', 'POST /drills', 'POST /releases', 'POST /rollbacks', 'PUT /freeze']);
  });

  it('names each operator route for identity policies (operatorArns)', () => {
    const arns = cp().approvalApi.operatorArns;

    assert.deepEqual(Object.keys(arns).sort(), Object.keys(OPERATOR_ROUTES).sort());
    for (const [route, arn] of Object.entries(arns)) {
      const { method, resource } = OPERATOR_ROUTES[route as keyof typeof OPERATOR_ROUTES];
      assert.match(JSON.stringify(built.stack.resolve(arn)), new RegExp(`/v1/${method}${resource}"\\]\\]\\}$`));
    }
  });

  it('sends the decision to the approval-decide Lambda through a proxy integration', () => {
    const method = decisionMethod();
    const integration = method?.Properties?.Integration as { Type: string; IntegrationHttpMethod: string; Uri: unknown };

    assert.equal(integration.Type, 'AWS_PROXY');
    assert.equal(integration.IntegrationHttpMethod, 'POST');
    assert.match(JSON.stringify(integration.Uri), new RegExp(`"${logicalId(cp().functions['approval-decide'].function)}","Arn"`));
  });

  it('validates the path parameters and the body against a closed model before the Lambda runs', () => {
    const method = decisionMethod()?.Properties as Record<string, any>;
    const validator = resources()[method.RequestValidatorId.Ref];
    const model = resources()[method.RequestModels['application/json'].Ref];

    assert.deepEqual(method.RequestParameters, { 'method.request.path.releaseId': true, 'method.request.path.stage': true });
    assert.equal(validator?.Properties.ValidateRequestBody, true);
    assert.equal(validator?.Properties.ValidateRequestParameters, true);
    assert.equal(model?.Properties.Schema.additionalProperties, false);
    assert.deepEqual(model?.Properties.Schema.required, ['decision']);
    assert.deepEqual(model?.Properties.Schema.properties.decision.enum, ['approve', 'reject']);
    assert.equal(model?.Properties.Schema.properties.comment.maxLength, COMMENT_MAX);
  });

  it('answers a request that fails validation with the validation error, not a bare message', () => {
    const responses = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::GatewayResponse')).map((r) => r.Properties as Record<string, any>);

    assert.deepEqual(responses.map((r) => r.ResponseType).sort(), ['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS']);
    for (const r of responses) assert.match(r.ResponseTemplates['application/json'], /\$context\.error\.validationErrorString/);
  });

  it('logs every request as JSON, with the caller ARN, to a log group encrypted with the key', () => {
    const stage = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Stage'))[0]?.Properties as Record<string, any>;
    const group = cp().approvalApi.accessLogGroup;

    assert.deepEqual(stage.AccessLogSetting.DestinationArn, { 'Fn::GetAtt': [logicalId(group), 'Arn'] });
    const format = JSON.parse(stage.AccessLogSetting.Format);
    assert.equal(format.userArn, '$context.identity.userArn');
    assert.equal(format.status, '$context.status');
    const props = resources()[logicalId(group)]?.Properties;
    assert.deepEqual(props?.KmsKeyId, { 'Fn::GetAtt': [logicalId(cp().key), 'Arn'] });
    assert.equal(typeof props?.RetentionInDays, 'number');
  });

  it('throttles the stage, traces it, and keeps request data out of the execution logs', () => {
    const stage = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Stage'))[0]?.Properties as Record<string, any>;

    assert.equal(stage.StageName, 'v1');
    assert.equal(stage.TracingEnabled, true);
    assert.deepEqual(stage.MethodSettings, [
      { DataTraceEnabled: false, HttpMethod: '*', LoggingLevel: 'ERROR', MetricsEnabled: true, ResourcePath: '/*', ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5 },
    ]);
  });

  it('lets only API Gateway invoke approval-decide, only for POST on the decision resource of this API, and no test invocations', () => {
    const permissions = Object.values(resourcesOfType(built.template, 'AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties?.FunctionName).includes(logicalId(cp().functions['approval-decide'].function)),
    );

    assert.equal(permissions.length, 1);
    const p = permissions[0]?.Properties as Record<string, any>;
    assert.equal(p.Principal, 'apigateway.amazonaws.com');
    const sourceArn = JSON.stringify(p.SourceArn);
    assert.match(sourceArn, new RegExp(`"${logicalId(cp().approvalApi.api)}"`));
    assert.match(sourceArn, /\/POST\/releases\/\*\/stages\/\*\/decision"/);
    assert.doesNotMatch(sourceArn, /test-invoke-stage/);
  });

  it('outputs its URL as ApprovalApiUrl', () => {
    const outputs = built.template.findOutputs('ApprovalApiUrl');

    const value = JSON.stringify(outputs.ApprovalApiUrl?.Value);
    const stageId = Object.keys(resourcesOfType(built.template, 'AWS::ApiGateway::Stage'))[0];
    assert.match(value, new RegExp(`^\\{"Fn::Join":\\["",\\["https://",\\{"Ref":"${logicalId(cp().approvalApi.api)}"\\},"\\.execute-api\\."`));
    assert.match(value, new RegExp(`\\{"Ref":"${stageId}"\\},"/"\\]\\]\\}$`));
  });
});

describe('the approval handlers', () => {
  it('are handlers of the control plane, and approval-request is the ${ApprovalRequestFunctionArn} of the workflows', () => {
    assert.ok('approval-request' in HANDLERS && 'approval-decide' in HANDLERS);
    assert.equal(`${pascalCase('approval-request')}FunctionArn`, 'ApprovalRequestFunctionArn');
  });

  it("let approval-decide end tasks of Gantry's two workflows only (releases, and forced operator rollbacks)", () => {
    const statements = rolePolicyStatements(logicalId(cp().functions['approval-decide'].role)).filter((s) => asArray(s.Action).some((a: string) => a.startsWith('states:')));

    assert.equal(statements.length, 1);
    assert.deepEqual(asArray(statements[0]?.Action).sort(), ['states:SendTaskFailure', 'states:SendTaskSuccess']);
    assert.deepEqual(asArray(statements[0]?.Resource), [{ Ref: logicalId(cp().releaseStateMachine) }, { Ref: logicalId(cp().rollbackStateMachine) }]);
  });

  it('let approval-request and approval-decide write the ledger and publish on the Gantry bus; approval-request only fails a task a rollback preempted', () => {
    for (const name of ['approval-request', 'approval-decide'] as const) {
      const actions = rolePolicyStatements(logicalId(cp().functions[name].role)).flatMap((s) => asArray(s.Action));
      for (const a of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'events:PutEvents']) assert.ok(actions.includes(a), `${name} lacks ${a}`);
    }
    // approval-request fails its own approval task when an operator rollback took the stage before the token was stored.
    const requestStates = rolePolicyStatements(logicalId(cp().functions['approval-request'].role)).filter((s) => asArray(s.Action).some((a: string) => a.startsWith('states:')));
    assert.deepEqual(requestStates.flatMap((s) => asArray(s.Action)).sort(), ['states:SendTaskFailure', 'states:SendTaskSuccess']);
  });

  it('let no other role than approval-decide, the bake enders, the lease wakers and the scan-wait wakers send task results', () => {
    const senders = allPolicyStatements(built.template)
      .filter(({ statement }) => asArray(statement.Action as string[]).includes('states:SendTaskSuccess'))
      .map(({ where }) => where.split(' ')[0]);

    assert.ok(
      senders.some((w) => w?.startsWith('ReleaseControlPlaneApprovalDecideDecideApprovals')),
      senders.join(', '),
    );
    assert.ok(
      senders.every((w) => /ApprovalDecide|ApprovalRequest|BakeRegister|BakeTimer|AlarmWatch|StageLease|RecordStep|Reconciler|ImageGates|ScanWatch/.test(w ?? '')),
      senders.join(', '),
    );
    assert.ok(
      !senders.some((w) => /OperatorApi|Intake|PrepareRelease|WindowGate|DeployCheck|InsightPlan|InsightRecord|RolloutCheck|RollbackPrepare|AlarmGate/.test(w ?? '')),
      senders.join(', '),
    );
  });

  it("answer within API Gateway's 29-second integration limit", () => {
    assert.ok(Number(resources()[logicalId(cp().functions['approval-decide'].function)]?.Properties.Timeout) < 29);
    assert.ok(Number(resources()[logicalId(cp().functions['operator-api'].function)]?.Properties.Timeout) < 29);
  });

  it('are invoked by the release workflow exactly when its definition names ${ApprovalRequestFunctionArn}', () => {
    const text = readFileSync(join(ROOT, 'statemachines', 'release.asl.json'), 'utf8');
    const substitutions = resources()[logicalId(cp().releaseStateMachine)]?.Properties.DefinitionSubstitutions as Record<string, unknown>;

    const named = text.includes('${ApprovalRequestFunctionArn}');
    assert.equal('ApprovalRequestFunctionArn' in substitutions, named);
    if (named) assert.deepEqual(substitutions.ApprovalRequestFunctionArn, { 'Fn::GetAtt': [logicalId(cp().functions['approval-request'].function), 'Arn'] });
  });

  it('are analysed as a Lambda task when a definition asks for an approval with .waitForTaskToken', () => {
    const definition = new WorkflowDefinition(
      'approval.asl.json',
      JSON.stringify({
        StartAt: 'RequestApproval',
        States: {
          RequestApproval: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: { FunctionName: '${ApprovalRequestFunctionArn}', Payload: { 'taskToken.$': '$$.Task.Token', 'releaseId.$': '$.releaseId', 'stage.$': '$.stage' } },
            End: true,
          },
        },
      }),
    );

    assert.deepEqual(definition.functionPlaceholders, ['ApprovalRequestFunctionArn']);
    assert.deepEqual(definition.substitutions({ ApprovalRequestFunctionArn: 'arn:fn', Other: 'x' }), { ApprovalRequestFunctionArn: 'arn:fn' });
  });
});

describe('ApprovalApi props', () => {
  const scaffold = () => {
    const stack = new Stack(new App(), 'T');
    const handler = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=async()=>({})') });
    return { stack, handler, encryptionKey: new Key(stack, 'K'), logRetention: RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY };
  };

  it('refuse a stage name API Gateway would not accept, naming the prop', () => {
    const s = scaffold();

    assert.throws(
      () => new ApprovalApi(s.stack, 'A', { ...s, stageName: 'prod-1' }),
      (e: unknown) => e instanceof ApprovalApiError && /ApprovalApiProps\.stageName/.test(e.message),
    );
  });

  it('refuse a throttle that admits nothing', () => {
    const s = scaffold();

    assert.throws(() => new ApprovalApi(s.stack, 'A', { ...s, throttlingRateLimit: 0 }), /throttlingRateLimit must be > 0/);
  });

  it('create no account logging role when told the account has one', () => {
    const s = scaffold();
    new ApprovalApi(s.stack, 'A', { ...s, cloudWatchRole: false });

    Template.fromStack(s.stack).resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

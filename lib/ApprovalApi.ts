/**
 * The Gantry API: API Gateway REST, AWS_IAM authorization on every method. It began as the approval API
 * and keeps that name (construct, output `ApprovalApiUrl`); it also carries the operator routes, so that
 * no person needs to write the ledger table.
 *
 *   POST /releases/{releaseId}/stages/{stage}/decision   body { "decision": "approve"|"reject", "comment"?: string }   → approval-decide
 *   POST /releases    body: a release input (docs/contracts.md §2)                                                            → operator-api
 *   POST /rollbacks   body: { service, stage, digest?, reason? }                                                      → operator-api
 *   PUT  /freeze      body: { state: "on"|"off", reason }                                                             → operator-api
 *   POST /drills      body: { service, stage, reason? }                                                               → operator-api
 *   POST /aborts      body: { releaseId, reason } (gantry abort, decision 053)                                        → operator-api
 *
 * API Gateway verifies the SigV4 signature and puts the caller's ARN in the request context; the Lambdas
 * take the caller from there and nowhere else (approval-decide decides whether that caller may approve,
 * lambdas/domain/approvers.ts; operator-api records the caller as initiator or freeze principal). A caller
 * also needs `execute-api:Invoke` on the method (`decisionArn`, `operatorArns`) in an identity policy:
 * without a resource policy only principals of this account can call at all.
 *
 * Request validation answers malformed requests before a Lambda runs, naming what is wrong (path parameters
 * and a closed decision model; for the operator routes only that the body is a JSON object: the Lambda
 * validates it exactly as the workflows do). Access logs (JSON, one line per request, with the caller ARN)
 * go to a log group encrypted with the control plane's key; execution logs are at ERROR without request or
 * response data; the stage is throttled and traced.
 */
import type { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { COMMENT_MAX } from '../lambdas/domain/approvers';
import { OPERATOR_ROUTES, type OperatorRoute } from '../lambdas/domain/operator-requests';
import { acknowledge } from './acknowledge';

export class ApprovalApiError extends Error {
  override readonly name = 'ApprovalApiError';
}

export interface ApprovalApiProps {
  /** The approval-decide Lambda (Lambda proxy integration). */
  readonly handler: IFunction;
  /**
   * The operator-api Lambda: when given, the API also has the operator routes (POST /releases,
   * POST /rollbacks, PUT /freeze), each a Lambda proxy integration to it.
   * @default no operator routes
   */
  readonly operatorHandler?: IFunction;
  /** Encrypts the access log group. */
  readonly encryptionKey: IKey;
  readonly logRetention: RetentionDays;
  /** Applied to the access log group. */
  readonly removalPolicy: RemovalPolicy;
  /** @default 'v1' */
  readonly stageName?: string;
  /** Steady-state requests per second for the stage. @default 5 */
  readonly throttlingRateLimit?: number;
  /** Burst of requests for the stage. @default 10 */
  readonly throttlingBurstLimit?: number;
  /**
   * Create the account's API Gateway CloudWatch Logs role (an account-and-region setting, retained
   * when the stack goes). Leave it off when the account already has one.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * The logical id of the stack output with the API's URL.
   * @default 'ApprovalApiUrl'
   */
  readonly urlOutputId?: string;
}

export class ApprovalApi extends Construct {
  public readonly api: RestApi;
  public readonly method: Method;
  public readonly accessLogGroup: LogGroup;
  /** The stage's invoke URL, ending in `/` (what `gantry approve --api-url` takes). */
  public readonly url: string;
  /** `arn:aws:execute-api:<region>:<account>:<api>/<stage>/POST/releases/*\/stages/*\/decision`, for approvers' identity policies. */
  public readonly decisionArn: string;
  /** The operator methods by route (empty without `operatorHandler`). */
  public readonly operatorMethods: Readonly<Partial<Record<OperatorRoute, Method>>>;
  /**
   * `execute-api:Invoke` resources of the operator routes by route (`arn:…:<api>/<stage>/POST/releases`, …),
   * for operators' identity policies (`ReleaseControlPlane.grantOperate`). Empty without `operatorHandler`.
   */
  public readonly operatorArns: Readonly<Partial<Record<OperatorRoute, string>>>;
  public readonly urlOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: ApprovalApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'v1';
    const rate = props.throttlingRateLimit ?? 5;
    const burst = props.throttlingBurstLimit ?? 10;
    if (!/^[A-Za-z0-9_]{1,64}$/.test(stageName)) throw new ApprovalApiError(`ApprovalApiProps.stageName must be 1-64 of A-Z a-z 0-9 _, got ${JSON.stringify(stageName)}`);
    if (!(rate > 0) || !Number.isInteger(burst) || burst < 1) {
      throw new ApprovalApiError(`ApprovalApiProps.throttlingRateLimit must be > 0 and throttlingBurstLimit a whole number >= 1, got ${rate} and ${burst}`);
    }

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });
    this.api = new RestApi(this, 'Api', {
      description: props.operatorHandler
        ? 'Gantry: approve or reject a stage of a release; start releases and rollbacks; set the freeze (AWS_IAM authorization)'
        : 'Gantry approvals: approve or reject a stage of a release (AWS_IAM authorization)',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: props.cloudWatchRole ?? true,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName,
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request and response bodies (comments, reasons) stay out of the execution logs.
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            extendedRequestId: AccessLogField.contextExtendedRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            sourceIp: AccessLogField.contextIdentitySourceIp(),
            callerAccountId: AccessLogField.contextIdentityAccountId(),
            caller: AccessLogField.contextIdentityCaller(),
            userArn: AccessLogField.contextIdentityUserArn(),
            userAgent: AccessLogField.contextIdentityUserAgent(),
            httpMethod: AccessLogField.contextHttpMethod(),
            resourcePath: AccessLogField.contextResourcePath(),
            path: AccessLogField.contextPath(),
            protocol: AccessLogField.contextProtocol(),
            status: AccessLogField.contextStatus(),
            responseLength: AccessLogField.contextResponseLength(),
            integrationStatus: AccessLogField.contextIntegrationStatus(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            error: AccessLogField.contextErrorMessage(),
            errorType: AccessLogField.contextErrorResponseType(),
            validationError: AccessLogField.contextErrorValidationErrorString(),
          }),
        ),
      },
    });
    // Validation failures name what is wrong instead of API Gateway's bare "Invalid request body".
    for (const [rid, type] of [
      ['BadRequestBody', ResponseType.BAD_REQUEST_BODY],
      ['BadRequestParameters', ResponseType.BAD_REQUEST_PARAMETERS],
    ] as const) {
      this.api.addGatewayResponse(rid, {
        type,
        statusCode: '400',
        templates: { 'application/json': '{"message":"the request is invalid","problems":["$util.escapeJavaScript($context.error.validationErrorString)"]}' },
      });
    }

    const body = this.api.addModel('DecisionBody', {
      contentType: 'application/json',
      modelName: 'GantryDecision',
      description: 'A decision on a stage waiting for approval',
      schema: {
        schema: JsonSchemaVersion.DRAFT4,
        title: 'GantryDecision',
        type: JsonSchemaType.OBJECT,
        required: ['decision'],
        additionalProperties: false,
        properties: {
          decision: { type: JsonSchemaType.STRING, enum: ['approve', 'reject'] },
          comment: { type: JsonSchemaType.STRING, maxLength: COMMENT_MAX },
        },
      },
    });
    const validator = this.api.addRequestValidator('DecisionValidator', { validateRequestBody: true, validateRequestParameters: true });
    const releases = this.api.root.addResource('releases');
    const decision = releases.addResource('{releaseId}').addResource('stages').addResource('{stage}').addResource('decision');
    this.method = decision.addMethod('POST', new LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false }), {
      authorizationType: AuthorizationType.IAM,
      requestValidator: validator,
      requestModels: { 'application/json': body },
      requestParameters: { 'method.request.path.releaseId': true, 'method.request.path.stage': true },
    });
    this.url = this.api.url;
    this.decisionArn = this.api.arnForExecuteApi('POST', '/releases/*/stages/*/decision', stageName);

    // The operator routes: the body must be a JSON object; operator-api validates it as the workflows do.
    const operatorMethods: Partial<Record<OperatorRoute, Method>> = {};
    const operatorArns: Partial<Record<OperatorRoute, string>> = {};
    if (props.operatorHandler) {
      const objectBody = this.api.addModel('OperatorBody', {
        contentType: 'application/json',
        modelName: 'GantryOperatorRequest',
        description: 'A release input, a rollback input or a freeze request: a JSON object, validated by the operator-api Lambda',
        schema: { schema: JsonSchemaVersion.DRAFT4, title: 'GantryOperatorRequest', type: JsonSchemaType.OBJECT },
      });
      const bodyValidator = this.api.addRequestValidator('OperatorValidator', { validateRequestBody: true, validateRequestParameters: false });
      const integration = new LambdaIntegration(props.operatorHandler, { proxy: true, allowTestInvoke: false });
      for (const route of Object.keys(OPERATOR_ROUTES) as OperatorRoute[]) {
        const { method, resource } = OPERATOR_ROUTES[route];
        const path = resource.slice(1);
        const target = path === 'releases' ? releases : (this.api.root.getResource(path) ?? this.api.root.addResource(path));
        operatorMethods[route] = target.addMethod(method, integration, {
          authorizationType: AuthorizationType.IAM,
          requestValidator: bodyValidator,
          requestModels: { 'application/json': objectBody },
        });
        operatorArns[route] = this.api.arnForExecuteApi(method, resource, stageName);
      }
    }
    this.operatorMethods = operatorMethods;
    this.operatorArns = operatorArns;

    // RestApi makes one output with its URL; give it a name an operator can find.
    this.urlOutput = this.api.node.findChild('Endpoint') as CfnOutput;
    this.urlOutput.description = props.operatorHandler
      ? `The Gantry API (gantry approve|reject|start|rollback|freeze): approvers need execute-api:Invoke on <api arn>/${stageName}/POST/releases/*/stages/*/decision, operators on <api arn>/${stageName}/POST/releases, POST/rollbacks and PUT/freeze`
      : `The approval API (gantry approve|reject --api-url <this>); callers need execute-api:Invoke on <api arn>/${stageName}/POST/releases/*/stages/*/decision`;
    this.urlOutput.overrideLogicalId(props.urlOutputId ?? 'ApprovalApiUrl');

    const cfnStage = this.api.deploymentStage;
    acknowledge(
      cfnStage,
      'AwsSolutions-APIG3',
      'Every method of the Gantry API is IAM-authorized and throttled at the stage; unsigned or unauthorized requests are refused by API Gateway before any integration runs. A WAF web ACL can be associated by the operator where the account policy requires one.',
    );
    acknowledge(
      this.method,
      'AwsSolutions-COG4',
      'The approval API uses AWS_IAM authorization on purpose: the decision is attributed to the caller IAM principal (SigV4), which Cognito user pools cannot provide.',
    );
    for (const m of Object.values(operatorMethods)) {
      acknowledge(
        m,
        'AwsSolutions-COG4',
        'The operator routes use AWS_IAM authorization on purpose: the start record and the freeze name the caller IAM principal (SigV4), which Cognito user pools cannot provide.',
      );
    }
    if (props.cloudWatchRole ?? true) {
      const role = this.api.node.tryFindChild('CloudWatchRole');
      if (role) {
        acknowledge(
          role,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          'The account-level API Gateway logging role uses the AWS managed policy AWS documents for it; it lets API Gateway write the access and execution logs of this account and nothing else.',
        );
      }
    }
  }
}

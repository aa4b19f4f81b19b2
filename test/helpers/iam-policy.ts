/**
 * IAM's evaluation of identity-policy statements, for the few elements Gantry's ledger statements use:
 * Allow/Deny, Action and Resource (exact, or `*` / `?` wildcards), and the conditions
 * `ForAllValues:StringLike` and `Null` on request context keys. Anything else throws rather than guess.
 *
 * The rules, from the IAM User Guide: a request is allowed when some Allow statement matches it and no
 * Deny statement does; a statement matches when its action, its resource and every condition operator
 * match; `ForAllValues:…` is true when every value of the key in the request matches one of the policy's
 * values, and also when the key is absent from the request; `Null: { key: "false" }` is true when the key
 * is present ("multi-valued context key examples" and "condition operators" pages).
 */

export interface IamStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface IamRequest {
  /** e.g. `dynamodb:PutItem` */
  readonly action: string;
  /** e.g. `arn:aws:dynamodb:eu-west-2:111122223333:table/gantry-ledger` */
  readonly resource: string;
  /** The request context: condition key → its values (absent when the request does not carry it). */
  readonly context: Readonly<Record<string, readonly string[]>>;
}

export class UnsupportedPolicyError extends Error {
  override readonly name = 'UnsupportedPolicyError';
}

const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

/** IAM's string wildcard match: `*` any run of characters, `?` one character, case-sensitive. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return re.test(value);
}

/** Actions match case-insensitively (IAM), with wildcards. */
function actionMatches(pattern: string, action: string): boolean {
  return globMatch(pattern.toLowerCase(), action.toLowerCase());
}

function conditionHolds(operator: string, key: string, policyValues: readonly string[], request: IamRequest): boolean {
  const present = Object.hasOwn(request.context, key);
  const values = present ? (request.context[key] ?? []) : [];
  switch (operator) {
    case 'ForAllValues:StringLike':
      return !present || values.length === 0 || values.every((v) => policyValues.some((p) => globMatch(p, v)));
    case 'Null':
      if (policyValues.length !== 1 || !['true', 'false'].includes(policyValues[0] as string)) throw new UnsupportedPolicyError(`Null on ${key} takes "true" or "false"`);
      return policyValues[0] === 'true' ? !present || values.length === 0 : present && values.length > 0;
    default:
      throw new UnsupportedPolicyError(`condition operator ${operator} is not evaluated here`);
  }
}

export function statementMatches(s: IamStatement, request: IamRequest): boolean {
  if (!list(s.Action).some((a) => actionMatches(a, request.action))) return false;
  if (!list(s.Resource).some((r) => globMatch(r, request.resource))) return false;
  for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
    for (const [key, v] of Object.entries(keys)) if (!conditionHolds(operator, key, list(v), request)) return false;
  }
  return true;
}

/** Whether the statements allow the request: an Allow matches and no Deny does. */
export function allows(statements: readonly IamStatement[], request: IamRequest): boolean {
  if (statements.some((s) => s.Effect === 'Deny' && statementMatches(s, request))) return false;
  return statements.some((s) => s.Effect === 'Allow' && statementMatches(s, request));
}

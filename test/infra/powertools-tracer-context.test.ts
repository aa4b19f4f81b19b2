/**
 * `gantry:powertoolsTracer` (decision 039): the CDK context that compiles the Powertools tracer into the
 * handler bundles. Off unless true; anything but true/false is refused, naming the key.
 */
import assert from 'node:assert/strict';
import { App, Stack } from 'aws-cdk-lib';
import { describe, it } from 'vitest';
import { POWERTOOLS_TRACER_CONTEXT, PowertoolsTracerContextError, powertoolsTracer } from '../../lib/GantryFunction';

const stackWith = (value?: unknown) => new Stack(new App(value === undefined ? {} : { context: { [POWERTOOLS_TRACER_CONTEXT]: value } }), 'S');

describe('the gantry:powertoolsTracer context', () => {
  it('is off when unset or false, on when true (boolean or the string -c passes)', () => {
    assert.equal(POWERTOOLS_TRACER_CONTEXT, 'gantry:powertoolsTracer');
    assert.equal(powertoolsTracer(stackWith()), false);
    assert.equal(powertoolsTracer(stackWith(false)), false);
    assert.equal(powertoolsTracer(stackWith('false')), false);
    assert.equal(powertoolsTracer(stackWith(true)), true);
    assert.equal(powertoolsTracer(stackWith('true')), true);
  });

  it('refuses any other value, naming the key and what is allowed', () => {
    for (const v of ['yes', 1, 'TRUE']) {
      assert.throws(
        () => powertoolsTracer(stackWith(v)),
        (e: unknown) =>
          e instanceof PowertoolsTracerContextError &&
          e.name === 'PowertoolsTracerContextError' &&
          /gantry:powertoolsTracer/.test(e.message) &&
          /expected true or false/.test(e.message),
      );
    }
  });
});

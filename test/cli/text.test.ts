/** cli/render/text.ts: the width human output is laid out for, and measuring, padding, cutting and wrapping that fit it (issue 20). */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { shortDigest } from '../../cli/commands/common';
import { DEFAULT_WIDTH, displayWidth, fitLine, hanging, MIN_WIDTH, outputWidth, padEnd, shortDigests, truncate, wrap } from '../../cli/render/text';

const D = `sha256:${'0123456789abcdef'.repeat(4)}`;
const green = (s: string) => `\x1b[32m${s}\x1b[0m`;

describe('outputWidth', () => {
  it('is the terminal width on a terminal, else COLUMNS, else 100, and never under the minimum', () => {
    assert.equal(outputWidth({ isTTY: true, columns: 132, env: { COLUMNS: '90' } }), 132);
    assert.equal(outputWidth({ isTTY: false, columns: 132, env: { COLUMNS: '90' } }), 90);
    assert.equal(outputWidth({ isTTY: false, env: {} }), DEFAULT_WIDTH);
    assert.equal(outputWidth({ isTTY: false, env: { COLUMNS: 'wide' } }), DEFAULT_WIDTH);
    assert.equal(outputWidth({ isTTY: true, columns: 12, env: {} }), MIN_WIDTH);
  });
});

describe('short digests', () => {
  it('shortDigest is sha256: and the first 12 hex digits, no ellipsis', () => {
    assert.equal(shortDigest(D), 'sha256:0123456789ab');
    assert.equal(shortDigest(null), '(digest not resolved)');
    assert.equal(shortDigest('sha256:abc'), 'sha256:abc', 'not a whole digest: left as it is, never cut');
  });

  it('shortDigests shortens every whole digest in a text and nothing else', () => {
    assert.equal(shortDigests(`payments-api@${D} exists; from ${D} → ${D}`), 'payments-api@sha256:0123456789ab exists; from sha256:0123456789ab → sha256:0123456789ab');
    assert.equal(shortDigests('plan sha256 0123456789abcdef'), 'plan sha256 0123456789abcdef');
  });
});

describe('measuring and laying out', () => {
  it('counts colour codes as nothing and wide characters as two columns', () => {
    assert.equal(displayWidth(green('PASS')), 4);
    assert.equal(displayWidth('✓ 日本'), 6);
    assert.equal(displayWidth(padEnd(green('PASS'), 10)), 10);
  });

  it('truncate marks a cut with … and keeps within the width', () => {
    assert.equal(truncate('abcdefghij', 5), 'abcd…');
    assert.equal(truncate('abc', 5), 'abc');
    assert.equal(displayWidth(truncate(green('abcdefghij'), 5)), 5);
  });

  it('wrap indents the continuation lines', () => {
    const lines = wrap('one two three four five six', 10, 2).split('\n');
    assert.deepEqual(lines, ['one two', '  three', '  four', '  five six']);
  });

  it('hanging wraps a text under its own start, or under the fallback indent when too little room is left', () => {
    const beside = hanging('10:00:00  dev  ', 'alpha beta gamma delta epsilon zeta', 30, { minText: 10 });
    assert.deepEqual(beside, ['10:00:00  dev  alpha beta', '               gamma delta', '               epsilon zeta']);
    const below = hanging('10:00:00  a-very-long-step-name  ', 'alpha beta gamma', 40, { minText: 20, fallbackIndent: 4 });
    assert.deepEqual(below, ['10:00:00  a-very-long-step-name', '    alpha beta gamma']);
    for (const l of [...beside, ...below]) assert.ok(displayWidth(l) <= 40, l);
  });

  it('fitLine keeps a line that fits and wraps one that does not, keeping its indentation, losing no word', () => {
    assert.deepEqual(fitLine('  short', 40), ['  short']);
    const text = `  initiator arn:aws:sts::111122223333:assumed-role/Operators/local-operator started ${D}`;
    const lines = fitLine(text, 50);
    assert.ok(lines.length > 1);
    for (const l of lines) assert.ok(displayWidth(l) <= 50, l);
    assert.ok(lines.every((l) => l.startsWith('  ')));
    assert.equal(lines.join('').replace(/ /g, ''), text.replace(/ /g, ''), 'nothing cut');
  });
});

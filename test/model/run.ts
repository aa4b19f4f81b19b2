/**
 * The long model-based run (`npm run test:model`): generated histories with new seeds each run, the
 * same invariants as test/model/model.test.ts, a summary with histories per second.
 *
 *   npm run test:model                          2,000 histories from a random seed (printed first)
 *   npm run test:model -- --histories 100       fewer
 *   npm run test:model -- --seed 123 --histories 1   replay one history (seed 123)
 *   npm run test:model -- --shrink              also shrink the first failure of each invariant
 *
 * Exit 0 when only invariants listed in known-failing.ts failed, 1 when any other did, 2 on bad
 * arguments. Every first failure is written to a temp file with the command that replays it.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type InvariantName, INVARIANT_NAMES } from './invariants';
import { KNOWN_FAILING } from './known-failing';
import { type HistoryResult, checkSeed, describeFailure, shrink, writeRepro } from './runner';

class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

function options() {
  const { values } = parseArgs({
    options: { histories: { type: 'string', default: '2000' }, seed: { type: 'string' }, shrink: { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  const histories = Number(values.histories);
  if (!Number.isInteger(histories) || histories < 1)
    throw new ArgumentError(`--histories: expected a whole number of histories, 1 or more, got ${JSON.stringify(values.histories)}`);
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - histories) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed + histories > 2 ** 31)
    throw new ArgumentError(`--seed: expected a whole number from 0 to ${2 ** 31 - histories}, got ${JSON.stringify(values.seed)}`);
  return { histories, seed, shrink: values.shrink ?? false };
}

async function main(): Promise<number> {
  let o: ReturnType<typeof options>;
  try {
    o = options();
  } catch (e) {
    process.stderr.write(`test:model: ${(e as Error).message}\n`);
    return 2;
  }
  process.stdout.write(`model-based run: ${o.histories} histories, seeds ${o.seed}…${o.seed + o.histories - 1} (replay one: npm run test:model -- --seed <seed> --histories 1)\n`);
  const first = new Map<InvariantName, { result: HistoryResult; messages: string[] }>();
  const failingHistories = new Map<InvariantName, number>();
  const stats = { releases: 0, deployments: 0, errors: 0 };
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < o.histories; i++) {
    const seed = o.seed + i;
    let r: HistoryResult;
    try {
      r = await checkSeed(seed);
    } catch (e) {
      stats.errors++;
      process.stdout.write(`seed ${seed}: the simulation threw: ${(e as Error).stack ?? String(e)}\n`);
      continue;
    }
    stats.releases += r.releases;
    stats.deployments += r.deployments;
    for (const name of new Set(r.violations.map((v) => v.invariant))) {
      failingHistories.set(name, (failingHistories.get(name) ?? 0) + 1);
      if (!first.has(name)) first.set(name, { result: r, messages: r.violations.filter((v) => v.invariant === name).map((v) => v.message) });
    }
    if ((i + 1) % 50 === 0) {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stdout.write(
        `  ${i + 1}/${o.histories} histories, ${s.toFixed(0)} s, ${((i + 1) / s).toFixed(2)} histories/s, failing: ${[...failingHistories].map(([n, c]) => `${n} ×${c}`).join('; ') || 'none'}\n`,
      );
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  let unexpected = stats.errors > 0;
  process.stdout.write('\n');
  for (const name of INVARIANT_NAMES) {
    const f = first.get(name);
    const known = KNOWN_FAILING[name];
    if (!f) {
      process.stdout.write(`ok    ${name}${known ? ' (listed in KNOWN_FAILING, held on every history of this run)' : ''}\n`);
      continue;
    }
    if (!known) unexpected = true;
    let { result, messages } = f;
    let shrunkNote = '';
    if (o.shrink) {
      const s = await shrink(result.doc, name);
      result = s.result ? { ...s.result, seed: result.seed } : result;
      if (s.messages.length) messages = s.messages;
      shrunkNote = ` (shrunk in ${s.runs} runs to ${(s.doc.triggers as unknown[]).length} triggers, ${(s.doc.script as unknown[]).length} script lines)`;
    }
    const repro = writeRepro(result.doc, `seed-${result.seed}-${name}`);
    process.stdout.write(
      `${known ? 'KNOWN' : 'FAIL '} ${name}: ${failingHistories.get(name)}/${o.histories} histories${known ? ` — ${known}` : ''}${shrunkNote}\n${describeFailure(name, result, messages, repro)}\n`,
    );
  }
  process.stdout.write(
    `\n${o.histories} histories (first seed ${o.seed}) in ${seconds.toFixed(1)} s: ${(o.histories / seconds).toFixed(2)} histories/s; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ${stats.releases} releases, ${stats.deployments} driver runs${stats.errors ? `; ${stats.errors} simulations threw` : ''}\n`,
  );
  return unexpected ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`test:model: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);

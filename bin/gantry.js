#!/usr/bin/env node
// The `gantry` CLI (cli/main.ts). TypeScript sources run through tsx's CommonJS loader.
// The AWS SDK warns on every start that its 2027 releases need Node 22; Gantry pins the SDK and
// supports Node >= 20 locally, so that one warning is dropped here. Every other warning is kept.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  if (type === 'NodeVersionSupportWarning' || (text && text.includes('will require node >=22'))) return;
  return emitWarning.call(process, warning, ...rest);
};
// Handler logs (Powertools, JSON on stdout) would mix with --json output; the CLI reports instead.
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL || 'SILENT';
require('tsx/cjs');
require('../cli/main.ts').run(process.argv);

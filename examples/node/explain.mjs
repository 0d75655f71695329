// node explain.mjs [--plot DIR] [--statements WORDS.json] [MODEL_DIR] [FILE.jsonl] — take each applicant's score
// apart (one JSON object a line; stdin without FILE), as `loanscore explain --format jsonl` does: one JSON line per
// input line with row, probability, decision, typicalProbability and every field's effect (history channels month
// by month), largest first, worded by the manifest's statements or a statements file (as for score.mjs).
// --plot DIR also draws each explained row as `loanscore explain --plot` does, to DIR/row-N.svg.
// A line that is no JSON object is an error of its row. Exit status 1 when a row was rejected, 2 for a bad option.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainRecords, loadModel, readRecords } from './loanscore.mjs';
import { explanationSvg } from './explain_svg.mjs';
import { takeOption, useStatementsFile } from './options.mjs';

const here = dirname(fileURLToPath(import.meta.url));
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(0); throw err; }); // `| head`
const args = process.argv.slice(2);
const plot = takeOption(args, '--plot', 'the folder to draw the explanations into');
const statements = takeOption(args, '--statements', 'a statements file in JSON');
const [modelDir = join(here, '..', '..', 'artifacts', 'model'), file = 0] = args;
const model = await loadModel(modelDir);
if (statements !== null) useStatementsFile(model, statements);
if (plot !== null) mkdirSync(plot, { recursive: true });
const { records, unreadable } = readRecords(readFileSync(file, 'utf8'));
const results = records.length ? await explainRecords(model, records) : [];
const source = file === 0 ? 'stdin' : file;
const id = model.manifest.schema.id;
let rejected = 0;
results.forEach((result, i) => {
  if (unreadable.has(i)) Object.assign(result, { probability: null, decision: '', errors: [unreadable.get(i)] });
  rejected += result.errors.length > 0;
  process.stdout.write(JSON.stringify({ row: i + 1, ...result }) + '\n');
  if (plot && !result.errors.length) { // the title as loanscore explain gives it; the file appears only once complete
    const where = `row ${(i + 1).toLocaleString('en-US')} of ${source}`;
    const known = id && records[i][id] !== undefined && records[i][id] !== null && String(records[i][id]).trim();
    const title = known ? `Applicant ${known} (${where})` : where[0].toUpperCase() + where.slice(1);
    const path = join(plot, `row-${i + 1}.svg`);
    writeFileSync(`${path}.part`, explanationSvg(result, model.manifest.schema, title));
    renameSync(`${path}.part`, path);
  }
});
if (rejected) console.error(`${rejected} of ${results.length} rows rejected; their errors say why.`);
process.exitCode = rejected ? 1 : 0;

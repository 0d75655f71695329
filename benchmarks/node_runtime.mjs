// node benchmarks/node_runtime.mjs [MODEL_DIR] [--rows 50000] — the Node.js example's cost over onnxruntime-node
// alone, measured in the same run: one applicant (p50 of 2,000 calls) and a batch (median of 5). Figures, not
// assertions; quote the ratios. Needs `npm ci --ignore-scripts --prefix examples/node`.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainRecords, loadModel, scoreRecords } from '../examples/node/loanscore.mjs';
import { explanationSvg } from '../examples/node/explain_svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ort = createRequire(join(here, '..', 'examples', 'node', 'package.json'))('onnxruntime-node');
const args = process.argv.slice(2);
const rowsAt = args.indexOf('--rows');
const rows = rowsAt >= 0 ? Number(args[rowsAt + 1]) : 50000;
const modelDir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--rows') ?? join(here, '..', 'artifacts', 'model');

const model = await loadModel(modelDir);
const { cases } = JSON.parse(readFileSync(join(modelDir, 'golden.json'), 'utf8'));
const records = Array.from({ length: rows }, (_, i) => cases[i % cases.length].record);

function feedsOf(batch) {
  const feeds = {};
  for (const col of model.columns) {
    const values = batch.map((r) => (r[col.name] === null || r[col.name] === undefined ? (col.isString ? '' : NaN) : r[col.name]));
    feeds[col.name] = col.isString ? new ort.Tensor('string', values.map(String), [batch.length, 1])
                                   : new ort.Tensor('float32', Float32Array.from(values.map(Number)), [batch.length, 1]);
  }
  return feeds;
}

async function median(fn, n, warmup) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

const one = [records[0]];
const oneFeeds = feedsOf(one);
const raw1 = await median(() => model.session.run(oneFeeds, ['probability']), 2000, 200);
const api1 = await median(() => scoreRecords(model, one), 2000, 200);
const bulkFeeds = feedsOf(records);
const rawN = await median(() => model.session.run(bulkFeeds, ['probability']), 5, 1);
const apiN = await median(() => scoreRecords(model, records), 5, 1);
console.log(`Node.js ${process.versions.node}, onnxruntime-node (${modelDir})`);
console.log(`one applicant, p50: session.run ${(raw1 * 1e6).toFixed(0)} us, scoreRecords ${(api1 * 1e6).toFixed(0)} us ` +
            `(${(api1 / raw1).toFixed(2)}x, validation included)`);
console.log(`${rows.toLocaleString('en')} rows, median of 5: session.run ${(rows / rawN).toFixed(0)} rows/s, ` +
            `scoreRecords ${(rows / apiN).toFixed(0)} rows/s (${(rawN / apiN).toFixed(2)}x session.run's rate, validation included)`);
const why1 = await median(() => scoreRecords(model, one, 1, { reasons: 3 }), 500, 50);
const whyN = await median(() => scoreRecords(model, records, 1, { reasons: 3 }), 3, 0);
console.log(`reason codes (reasons: 3): one applicant ${(why1 * 1e6).toFixed(0)} us p50 (${(why1 / api1).toFixed(2)}x scoreRecords); ` +
            `${rows.toLocaleString('en')} rows ${(rows / whyN).toFixed(0)} rows/s (${(whyN / apiN).toFixed(2)}x the time, median of 3)`);
const case1 = await median(() => explainRecords(model, one), 500, 50);
console.log(`case explanation (explainRecords): one applicant ${(case1 * 1e6).toFixed(0)} us p50 (${(case1 / api1).toFixed(2)}x scoreRecords)`);
const [taken] = await explainRecords(model, one);
const drawn = await median(async () => explanationSvg(taken, model.manifest.schema, 'Applicant 1'), 500, 50);
console.log(`its drawing (explanationSvg): ${(drawn * 1e6).toFixed(0)} us p50 (${(drawn / case1).toFixed(2)}x explainRecords)`);

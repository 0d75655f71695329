// The command-line options score.mjs and explain.mjs share. A bad option exits with status 2 and says why,
// before anything is scored.

import { readFileSync } from 'node:fs';
import { masterScale, pointsScale, useStatements } from './loanscore.mjs';

/** Take `--name VALUE` out of `args`: VALUE, or null when the option is absent; exit 2 when VALUE is missing. */
export function takeOption(args, name, what) {
  const at = args.indexOf(name);
  if (at < 0) return null;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) fail(`${name} takes ${what}.`);
  args.splice(at, 2);
  return value;
}

/** Word the model's reasons with a statements file (JSON, as `loanscore statements` writes in TOML). */
export function useStatementsFile(model, path) {
  let table;
  try {
    table = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`--statements takes a statements file in JSON: ${err.message}`);
  }
  try {
    useStatements(model, table);
  } catch (err) {
    fail(`--statements: ${err.message}`);
  }
}

/** The master scale in the JSON file at `path` (`loanscore grades --format json`). */
export function readMasterScale(path) {
  try {
    return masterScale(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    fail(`--master-scale ${path}: ${err.message}`);
  }
}

/** The points scale in the JSON file at `path` (`loanscore points --format json`). */
export function readPointsScale(path) {
  try {
    return pointsScale(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    fail(`--points-scale ${path}: ${err.message}`);
  }
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

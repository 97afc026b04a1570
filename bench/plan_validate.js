#!/usr/bin/env node
// The planner against measurement: per model, one sequential profiling run recorded in a run store, then at
// --budgets weight budgets from the two-stage minimum to the whole model, `dlayer plan --budget` chooses a
// configuration and `dlayer run --config` runs it. The table gives predicted and measured latency (median of the
// run's iterations) and their error, the predicted and the ledger's measured peak, and the measured latency
// against the lower bound.
//
// With --paired yes (the default) each run alternates inference by inference with the same model, with the same
// split, preloaded in a second process (--paired-preload --paired-split), and the measurement is also given at the profile's speed: the profile's
// kernels (what the planner predicts for preload) × the median of streamed ÷ preloaded over the pairs. A machine
// whose speed drifts between the profile and the run (±20 % within minutes on a shared VM) then weighs on both
// sides of each pair instead of on the planner.
//
//   node bench/plan_validate.js [--dlayer build/app/dlayer/dlayer] [--models yolov4,resnet152,...] [--budgets 8]
//                               [--iterations 5] [--warmup 1] [--threads 2] [--paired yes|no] [--pack-dir DIR]
//                               [--calibration-pairs 20] [--precision fp32|fp16] [--write FILE.md]
//
// --precision fp16: every run streams an fp16 pack (its profile and calibration runs too), and the planner plans for
// fp16 packs; the table goes to its own section ("plan-validation-fp16").
//
// Beside the profile, two two-stage calibration runs of one configuration: one back to back (how much slower reads go
// beside kernels) and one paired with a preloaded twin of its split, --calibration-pairs inferences (how much longer
// kernels take beside reads).
//
// With --write it replaces the section between "<!-- plan-validation:begin -->" and "<!-- plan-validation:end -->"
// in that file (appended when missing). A failed run is reported, the other models still run, and the exit status
// is nonzero.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const { root, cache, pickModels, splitFor } = require('./models.js');
const { parseOptions, commandLine, dlayerRunner, cpuName, median, writeSection } = require('./benchutil.js');

const options = parseOptions('plan_validate.js', { '--dlayer': null, '--models': null, '--budgets': '8',
  '--iterations': '5', '--warmup': '1', '--threads': '2', '--paired': 'yes', '--pack-dir': null, '--calibration-pairs': '20', '--precision': 'fp32', '--write': null });
const precision = ['--precision', options['--precision']];
if (!['fp32', 'fp16'].includes(options['--precision'])) {
  console.error('plan_validate.js: --precision takes fp32 or fp16');
  process.exit(2);
}
const paired = options['--paired'] === 'yes';
const calPairs = Math.max(1, Number(options['--calibration-pairs']) || 20);
const dlayer = path.resolve(options['--dlayer'] || path.join(root, 'build/app/dlayer/dlayer'));
const packDir = path.resolve(options['--pack-dir'] || path.join(cache, 'packs/bench'));
const budgets = Math.max(2, Number(options['--budgets']));
const threads = options['--threads'];
const models = pickModels(options['--models']);
if (!fs.existsSync(dlayer)) {
  console.error(`missing ${dlayer}: build the project first`);
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-plan-validate-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const problems = [];
const MiB = 1 << 20;
const dl = dlayerRunner(dlayer, threads, problems);

function validate(m) {
  const out = { m, rows: [], error: null };
  if (!fs.existsSync(m.file)) {
    out.error = `missing ${m.file}`;
    problems.push(out.error);
    return out;
  }
  const store = path.join(work, `${m.id}.db`);
  const info = dl(['info', m.file, ...m.args, '--json'], `${m.id}: info`);
  if (!info) return out;
  // The split the 3.5 % budget would pick (two-stage), so that the frontier reaches the paper's reduction.
  const tight = Math.floor(info.weight_bytes * 0.035);
  const split = splitFor(dl, m.file, m.args, tight);
  if (split === null) return out;
  console.error(`${m.id}: profiling (sequential, split ${split})`);
  const prof = dl(['run', m.file, ...m.args, '--arch', 'sequential', '--split', `${split}`, '--pack-dir', packDir,
    '--threads', threads, '--iterations', '3', '--warmup', '1', '--record', store, ...precision, '--json'],
  `${m.id}: profile`);
  if (!prof) return out;
  out.profile = prof;
  // One pipelined run beside the profile, which the plans below calibrate their read contention on: two-stage with
  // nothing resident and a ring of 1.5 × the smallest (a configuration the budgets below do not pick as such).
  const plain = dl(['plan', m.file, ...m.args, '--profile', store, '--frontier', '--points', '2', '--no-calibrate',
    ...precision, '--json'], `${m.id}: plan --frontier (uncalibrated)`);
  if (!plain) return out;
  const ring = Math.ceil(plain.frontier[0].staging_bytes * 1.5 / 4096) * 4096;
  console.error(`${m.id}: calibration run (two-stage, ring ${(ring / MiB).toFixed(2)} MiB)`);
  const cal = dl(['run', m.file, ...m.args, '--arch', 'two-stage', '--staging', `${ring}`, '--split', `${split}`,
    '--pack-dir', packDir, '--threads', threads, '--iterations', options['--iterations'], '--warmup',
    options['--warmup'], '--record', store, ...precision, '--json'], `${m.id}: calibration run`);
  if (!cal) return out;
  // And a run paired with a preloaded twin of its split, which calibrates how much longer the kernels take beside
  // the reads (its overhead over the twin less its stalls, per MB streamed). Its ring is at least one huge page: a
  // smaller one sits on small pages, where each read costs the CPU two to three times as much as in the rings the
  // budgets pick (docs/architecture.md, "Huge pages for what the reads fill").
  const pairedRing = Math.max(ring, 2 * MiB);
  console.error(`${m.id}: paired calibration run (two-stage, ring ${(pairedRing / MiB).toFixed(2)} MiB)`);
  const pairedCal = dl(['run', m.file, ...m.args, '--arch', 'two-stage', '--staging', `${pairedRing}`, '--split',
    `${split}`, '--pack-dir', packDir, '--threads', threads, '--iterations', `${calPairs}`, '--warmup',
    options['--warmup'], '--paired-preload', '--paired-split', '--record', store, ...precision, '--json'],
  `${m.id}: paired calibration run`);
  if (!pairedCal) return out;
  const front = dl(['plan', m.file, ...m.args, '--profile', store, '--frontier', '--points', `${budgets}`,
    ...precision, '--json'],
    `${m.id}: plan --frontier`);
  if (!front) return out;
  out.frontier = front;
  front.frontier.forEach((f, k) => {
    const cfg = path.join(work, `${m.id}-${k}.json`);
    console.error(`${m.id}: budget ${(f.budget_bytes / MiB).toFixed(2)} MiB (${k + 1} of ${front.frontier.length})`);
    const planned = dl(['plan', m.file, ...m.args, '--profile', store, '--budget', `${f.budget_bytes}`, '-o', cfg,
      ...precision, '--json'], `${m.id}: plan --budget ${f.budget_bytes}`);
    if (!planned) return;
    // The same configuration predicted without the calibration, to weigh it on the same measurement.
    const plainPrediction = dl(['plan', m.file, ...m.args, '--profile', store, '--config', cfg, '--no-calibrate',
      '--json'], `${m.id}: plan --config --no-calibrate`);
    if (!plainPrediction) return;
    const run = dl(['run', m.file, ...m.args, '--config', cfg, '--pack-dir', packDir, '--threads', threads,
      '--iterations', options['--iterations'], '--warmup', options['--warmup'],
      ...(paired ? ['--paired-preload', '--paired-split'] : []), '--json'], `${m.id}: run --config`);
    if (!run) return;
    out.rows.push({ budget: f.budget_bytes, planned, plain: plainPrediction, run });
  });
  return out;
}

const sections = models.map(validate);
const lines = [];
lines.push(`Machine: ${cpuName()}, ${os.cpus().length} cores, Linux ${os.release()}; ${threads} threads; measured: the ` +
  `median of ${options['--iterations']} iterations after ${options['--warmup']} warm-up; ` +
  `${new Date().toISOString().slice(0, 10)}.`);
lines.push(`Command: \`${commandLine('plan_validate.js')}\`; packs ${options['--precision']}.`);
lines.push('');
lines.push('Profile: one sequential run (3 iterations after 1 warm-up) with the split the 3.5 % budget picks, recorded ' +
  'in a run store, and one two-stage run (nothing resident, a ring of 1.5 × the smallest) that calibrates how much ' +
  'slower reads go beside kernels, then a two-stage run with a ring of at least one huge page (2 MiB) paired ' +
  `inference by inference with a preloaded twin of its split (${calPairs} pairs), which calibrates how much longer ` +
  'the kernels take beside the reads; each row: ' +
  '`dlayer plan --budget` on that profile, then `dlayer run --config` of ' +
  'its choice. "uncalibrated" is the same configuration predicted without either calibration (`dlayer plan --config ' +
  '--no-calibrate`), so that both predictions are weighed on the same measurement.');
if (paired) {
  lines.push('');
  lines.push('Paired: each inference right after one of the same model and split preloaded in a second process ' +
    '(`--paired-preload --paired-split`). "at profile ' +
    'speed" is the profile\'s kernels (the planner\'s preload) × the median over the pairs of streamed ÷ preloaded: ' +
    'the measurement with the machine\'s drift since the profile taken out. Errors are predicted against it; the raw ' +
    'error is predicted against the measured median as it was.');
}
const all = { err: [], plain: [], raw: [] };
for (const s of sections) {
  lines.push('');
  lines.push(`### ${s.m.label}`);
  lines.push('');
  if (!s.frontier) {
    lines.push(`**FAILED**: ${s.error || problems.filter((p) => p.startsWith(s.m.id)).join('; ')}`);
    continue;
  }
  const f = s.frontier;
  const c = f.contention || {};
  lines.push(`Cost model: ${f.model.layers} layers, kernels ${f.kernel_ms.toFixed(1)} ms, disk ` +
    `${f.disk_mb_per_s.toFixed(0)} MB/s, request ${f.request_ms.toFixed(3)} ms; frontier of ${f.frontier.length} ` +
    `budgets computed in ${f.compute_ms.toFixed(1)} ms. Calibration run: ` +
    (c.run_id ? `${c.measured_ms.toFixed(1)} ms measured, ${c.uncalibrated_ms.toFixed(1)} ms predicted uncalibrated ` +
      `(with its own kernel times); reads beside kernels at ${c.read_factor.toFixed(2)} of the profile's disk rate.`
      : 'none.') +
    (c.kernel_run_id ? ` Paired calibration run: ${(c.kernel_slowdown_fraction * 100).toFixed(1)} % of its kernels ` +
      `over the twin beyond its stalls, for ${(c.kernel_run_streamed_bytes / MiB).toFixed(1)} MiB streamed: kernels ` +
      `${c.kernel_ms_per_mb.toFixed(3)} ms longer per MB streamed beside them.` : ' No paired calibration run.'));
  lines.push('');
  lines.push('| budget MiB | staging MiB | resident | predicted ms | uncalibrated ms | measured ms | ' +
    (paired ? 'preloaded twin ms | at profile speed ms | ' : '') + 'error % | uncalibrated error % | ' +
    (paired ? 'raw error % | ' : '') + 'predicted peak MiB | ledger peak MiB | peak equal | lower bound ms | ' +
    (paired ? 'at profile speed / bound |' : 'measured / bound |'));
  lines.push(`|${'---:|'.repeat(paired ? 13 : 10)}---|---:|---:|`);
  const mine = { err: [], plain: [], raw: [] };
  const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  for (const r of s.rows) {
    const p = r.planned.predicted_latency_ms, u = r.plain.predicted_latency_ms, meas = r.run.latency_ms.median;
    const pairs = paired && r.run.paired_preload ? r.run.paired_preload.pairs_ms : null;
    const ratio = pairs ? median(pairs.map(([a, b]) => a / b)) : null;
    const ref = pairs ? f.kernel_ms * ratio : meas; // what the errors are taken against
    const err = (p - ref) / ref * 100, plainErr = (u - ref) / ref * 100, raw = (p - meas) / meas * 100;
    for (const [k, v] of [['err', err], ['plain', plainErr], ['raw', raw]]) {
      mine[k].push(Math.abs(v));
      all[k].push(Math.abs(v));
    }
    const pp = r.planned.predicted_peak_bytes, lp = r.run.memory.peak_bytes;
    lines.push(`| ${(r.budget / MiB).toFixed(2)} | ${(r.run.staging_bytes / MiB).toFixed(2)} | ` +
      `${r.planned.resident_layers.length} of ${r.planned.model.layers} | ${p.toFixed(1)} | ${u.toFixed(1)} | ` +
      `${meas.toFixed(1)} | ` +
      (paired ? `${pairs ? r.run.paired_preload.latency_ms.median.toFixed(1) : '—'} | ${ref.toFixed(1)} | ` : '') +
      `${signed(err)} | ${signed(plainErr)} | ${paired ? `${signed(raw)} | ` : ''}${(pp / MiB).toFixed(2)} | ` +
      `${(lp / MiB).toFixed(2)} | ${pp === lp ? 'yes' : `**no** (${lp - pp} B)`} | ` +
      `${r.planned.lower_bound_ms.toFixed(1)} | ${(ref / r.planned.lower_bound_ms).toFixed(3)} |`);
  }
  if (mine.err.length) {
    lines.push('', `Median \\|predicted − measured\\| / measured${paired ? ' (at profile speed)' : ''}: ` +
      `${median(mine.err).toFixed(1)} % (uncalibrated: ${median(mine.plain).toFixed(1)} %` +
      `${paired ? `; raw: ${median(mine.raw).toFixed(1)} %` : ''}).`);
  }
}
if (all.err.length) {
  lines.push('', `All models: median \\|error\\|${paired ? ' at profile speed' : ''} ${median(all.err).toFixed(1)} % ` +
    `over ${all.err.length} budgets (uncalibrated: ${median(all.plain).toFixed(1)} %` +
    `${paired ? `; raw: ${median(all.raw).toFixed(1)} %` : ''}).`);
}
if (problems.length) lines.push('', `**${problems.length} problem(s)**: ${problems.join('; ')}`);
const table = lines.join('\n');
console.log(table);
if (options['--write']) {
  const fp16 = options['--precision'] === 'fp16';
  writeSection(path.resolve(options['--write']), fp16 ? 'plan-validation-fp16' : 'plan-validation',
    fp16 ? 'Planner validation, fp16 packs' : 'Planner validation', table);
}
process.exit(problems.length ? 1 : 0);

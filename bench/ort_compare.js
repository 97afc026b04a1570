#!/usr/bin/env node
// Engine vs ONNX Runtime on real models: same seeded input, same thread count, median of N runs after warm-up.
//
//   node bench/ort_compare.js [--dlayer build/app/dlayer/dlayer] [--threads 2] [--iterations 10] [--warmup 3]
//                             [--write docs/benchmarks.md]
//
// Prints a table (model, input, engine ms, ORT ms, ratio). With --write it replaces the section between the
// markers "<!-- ort-compare:begin -->" and "<!-- ort-compare:end -->" in that file.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const root = path.resolve(__dirname, '..');
const dlayer = path.resolve(opt('--dlayer', path.join(root, 'build/app/dlayer/dlayer')));
const threads = opt('--threads', '2');
const iterations = opt('--iterations', '10');
const warmup = opt('--warmup', '3');
const writeTo = opt('--write', null);
const cache = process.env.DL_CACHE || path.join(os.homedir(), '.cache/demand-layering');
const models = path.join(cache, 'models');
const ortRun = path.join(root, 'bench/ort/ort_run.js');

const cases = [
  { model: 'ppocr_det.onnx', label: 'PaddleOCR det', shape: [1, 3, 640, 640] },
  { model: 'ppocr_rec.onnx', label: 'PaddleOCR rec', shape: [1, 3, 48, 320] },
  { model: 'isnet.onnx', label: 'ISNet', shape: [1, 3, 1024, 1024] },
];

function run(cmd, argv) {
  return execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, OMP_NUM_THREADS: threads } });
}

const rows = [];
for (const c of cases) {
  const model = path.join(models, c.model);
  if (!fs.existsSync(model)) {
    console.error(`missing ${model}: run scripts/fetch-models.sh`);
    process.exit(1);
  }
  const info = JSON.parse(run(dlayer, ['info', model, '--json', '--shape', c.shape.join('x')]));
  const inputName = info.inputs[0].name;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ortcmp-'));
  run('node', [ortRun, '--gen-input', `${inputName}=${c.shape.join('x')}`, '--seed', '1', '--out-inputs', dir]);
  const input = path.join(dir, 'input_0.pb');
  const eng = JSON.parse(run(dlayer, ['run', model, '--input', `${inputName}=${input}`, '--threads', threads,
    '--iterations', iterations, '--warmup', warmup, '--json']));
  const ort = JSON.parse(run('node', [ortRun, '--model', model, '--input', `${inputName}=${input}`, '--out', dir,
    '--threads', threads, '--iterations', iterations, '--warmup', warmup, '--json']));
  const e = eng.latency_ms.median;
  const o = ort.median_ms;
  rows.push({ label: c.label, shape: c.shape.join('x'), e, o, ratio: e / o });
  fs.rmSync(dir, { recursive: true, force: true });
}

let cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
try {
  if (/\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) cpu += ' (AVX-512)';
  else cpu += ' (no AVX-512)';
} catch (e) { /* not Linux */ }
const lines = [];
lines.push(`Machine: ${cpu}, ${os.cpus().length} cores; ${threads} threads each; median of ${iterations} runs after ${warmup} warm-up.`);
lines.push(`Command: \`node bench/ort_compare.js --threads ${threads} --iterations ${iterations} --warmup ${warmup}\``);
lines.push('');
lines.push('| model | input | engine ms | ONNX Runtime ms | ratio (engine / ORT) |');
lines.push('|---|---|---:|---:|---:|');
for (const r of rows)
  lines.push(`| ${r.label} | ${r.shape} | ${r.e.toFixed(1)} | ${r.o.toFixed(1)} | ${r.ratio.toFixed(2)} |`);
const table = lines.join('\n');
console.log(table);

if (writeTo) {
  const file = path.resolve(writeTo);
  const begin = '<!-- ort-compare:begin -->';
  const end = '<!-- ort-compare:end -->';
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${begin}\n${table}\n${end}`;
  if (text.includes(begin) && text.includes(end))
    text = text.slice(0, text.indexOf(begin)) + block + text.slice(text.indexOf(end) + end.length);
  else
    text += `\n## Engine vs ONNX Runtime (CPU)\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

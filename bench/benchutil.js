// What the node benchmark scripts share: their option parsing, a dlayer runner that keeps going past a failed run,
// dd's rate over a file, the machine's CPU name, quantiles, and replacing a marked section of a Markdown file.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');

// `--name value` pairs into `options` (whose keys are the flags it takes, with their defaults); exits 2 on others.
function parseOptions(script, options, argv = process.argv.slice(2)) {
  for (let i = 0; i < argv.length; i += 2) {
    if (!(argv[i] in options) || i + 1 >= argv.length) {
      console.error(`usage: node bench/${script} ${Object.keys(options).map((k) => `[${k} V]`).join(' ')}`);
      process.exit(2);
    }
    options[argv[i]] = argv[i + 1];
  }
  return options;
}

// The command line as given, without --write and its file.
function commandLine(script, argv = process.argv.slice(2)) {
  return `node bench/${script} ${argv.filter((a, i) => a !== '--write' && argv[i - 1] !== '--write').join(' ')}`.trim();
}

// dl(args, what): runs dlayer with OMP_NUM_THREADS set and returns its JSON, or null after noting the failure in
// `problems` (and on stderr).
function dlayerRunner(dlayer, threads, problems) {
  return (args, what) => {
    const r = spawnSync(dlayer, args, { encoding: 'utf8', maxBuffer: 256 << 20,
      env: { ...process.env, OMP_NUM_THREADS: threads } });
    if (r.status !== 0) {
      const err = `${what} failed (${r.signal || `exit ${r.status}`}): ${(r.stderr || '').trim().split('\n').pop()}`;
      problems.push(err);
      console.error(`*** ${err}`);
      return null;
    }
    try {
      return JSON.parse(r.stdout);
    } catch (e) {
      problems.push(`${what}: no JSON`);
      return null;
    }
  };
}

// The disk's plain sequential O_DIRECT rate over a whole file, best of two `dd iflag=direct bs=4M` reads:
// { rate: { bytes, seconds, mbps } } or { error } naming what failed.
function ddRate(file) {
  let best = null;
  for (let k = 0; k < 2; ++k) {
    const r = spawnSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=4M', 'iflag=direct'], { encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' } });
    if (r.error || r.status !== 0)
      return { error: `dd of ${file} failed: ${(r.error ? r.error.message : r.stderr || '').trim().split('\n').pop()}` };
    const m = /(\d+) bytes.*copied, ([0-9.e+-]+) s/.exec(r.stderr);
    if (!m || !(Number(m[2]) > 0)) return { error: `could not read bytes and seconds from dd's report:\n${r.stderr}` };
    const rate = { bytes: Number(m[1]), seconds: Number(m[2]), mbps: Number(m[1]) / Number(m[2]) / 1e6 };
    if (!best || rate.mbps > best.mbps) best = rate;
  }
  return { rate: best };
}

function cpuName() {
  try {
    return (/^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || 'unknown CPU';
  } catch (e) {
    return 'unknown CPU'; // not Linux
  }
}

function quantile(xs, q) {
  const v = [...xs].sort((a, b) => a - b);
  const at = (v.length - 1) * q, lo = Math.floor(at), hi = Math.ceil(at);
  return v[lo] + (v[hi] - v[lo]) * (at - lo);
}
const median = (xs) => quantile(xs, 0.5);

// Replaces what lies between "<!-- NAME:begin -->" and "<!-- NAME:end -->" in `file` with `table`; appends the
// section under `heading` when the markers are missing.
function writeSection(file, name, heading, table) {
  const begin = `<!-- ${name}:begin -->`, end = `<!-- ${name}:end -->`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${begin}\n${table}\n${end}`;
  const b = text.indexOf(begin), e = text.indexOf(end);
  text = b >= 0 && e > b ? text.slice(0, b) + block + text.slice(e + end.length)
    : `${text}${text.endsWith('\n') ? '' : '\n'}\n## ${heading}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

// The first lines of a table: the machine, the load when it was made, and the command that made it.
function tableHead(script, threads) {
  return [`Machine: ${cpuName()}, ${os.cpus().length} cores, Linux ${os.release()}; ${threads} threads; ` +
    `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at the end; ` +
    `${new Date().toISOString().slice(0, 10)}.`, `Command: \`${commandLine(script)}\``, ''];
}

// Ends a table-printing script: the problems under the table, the table on stdout and, with `file`, in its section
// of that file; exits nonzero when there were problems.
function finishTable(lines, problems, file, name, heading) {
  if (problems.length) lines.push('', 'Problems:', ...problems.map((p) => `- ${p}`));
  const table = lines.join('\n');
  console.log(table);
  if (file) writeSection(file, name, heading, table);
  process.exit(problems.length ? 1 : 0);
}

module.exports = { parseOptions, commandLine, dlayerRunner, ddRate, cpuName, quantile, median, writeSection, tableHead,
  finishTable };

// DuckDB half of the scoring peer (bench/score_peer.sh): the candidate pairs
// that bench_score_dump wrote (OUT/pairs.csv) scored again in SQL, as Splink 4
// does it: the pair ids joined to the records (OUT/records.csv) twice, one
// CASE expression per comparison giving its level (jaro_winkler_similarity,
// damerau_levenshtein, ...), in the same order as engine/compare's level
// cascades, and the match weight as the prior plus one weight per level
// (OUT/model.json, the same quantised weights Tessera sums).
//
// Untimed: loading both CSV files into tables. Timed, per thread count (SET
// threads), `runs` runs after one warm-up: the join and the scoring, reduced
// to count, sum of weights and pairs with weight >= 0 (Tessera's timed loop
// reduces to the same three). Then, untimed, every pair's levels and weight
// are compared with Tessera's (pairs.csv holds them): any difference is
// counted per comparison and shown with its values. Last, the medians are
// set against Tessera's (OUT/tessera.json): the time ratio at each thread
// count and Tessera's speedup from 1 to 2 threads. OUT/peer.json gets it all.
// The exit status is 1 when any pair's level or weight differs.
//
// Level by level, what the SQL computes (name levels: namecmp.c; the rest:
// fieldcmp.c and score.c). Per-record inputs come ready from the store, as
// Splink's users prepare columns before predict(): the standardised names,
// their Soundex and NYSIIS codes (DuckDB has no phonetic functions), the
// NHS number's check-digit validity, the postcode as text.
//
// usage: node bench/score_peer.mjs OUT [threads=1,2] [runs=3]
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

if (!process.argv[2]) {
  console.error('usage: node bench/score_peer.mjs OUT [threads=1,2] [runs=3]');
  process.exit(2);
}
const dir = resolve(process.argv[2]);
const threadList = (process.argv[3] || '1,2').split(',').map(Number);
const runs = Number(process.argv[4] || 3);
const model = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8'));
const tess = JSON.parse(readFileSync(`${dir}/tessera.json`, 'utf8'));
const q = s => s.replaceAll("'", "''");
const big = (_, v) => (typeof v === 'bigint' ? Number(v) : v);

const db = await DuckDBInstance.create(':memory:', { threads: String(Math.max(...threadList)) });
const c = await db.connect();
const rows = async sql => (await c.runAndReadAll(sql)).getRows().map(r => r.map(v => (typeof v === 'bigint' ? Number(v) : v)));

// --- load (untimed) -------------------------------------------------------------------
let t0 = process.hrtime.bigint();
const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
await c.run(`create table rec as select * from read_csv('${q(dir)}/records.csv', header = true, nullstr = '',
  columns = {'gid': 'UINTEGER', 'given': 'VARCHAR', 'family': 'VARCHAR', 'given_sdx': 'VARCHAR',
             'given_nys': 'VARCHAR', 'family_sdx': 'VARCHAR', 'family_nys': 'VARCHAR', 'dob': 'DATE',
             'postcode': 'VARCHAR', 'sex': 'UTINYINT', 'nhs': 'VARCHAR', 'nhs_valid': 'BOOLEAN',
             'local_id': 'VARCHAR', 'provider': 'VARCHAR'})`);
const cmps = model.comparisons.map(k => k.name);
const tcols = Object.fromEntries([['a', 'UINTEGER'], ['b', 'UINTEGER'], ...cmps.map(n => [`t_${n}`, 'UTINYINT']),
  ['t_weight', 'DOUBLE']]);
await c.run(`create table p as select * from read_csv('${q(dir)}/pairs.csv', header = true,
  columns = ${JSON.stringify(tcols).replaceAll('"', "'")})`);
const [[nrec]] = await rows('select count(*) from rec');
const [[npairs]] = await rows('select count(*) from p');
console.log(`# duckdb ${(await rows('select version()'))[0][0]}: loaded ${nrec} records and ${npairs} pairs in ${secs().toFixed(1)} s (untimed)`);

// --- the levels in SQL ----------------------------------------------------------------
// One name field (namecmp.c tsr__cmp_name, default options). Stored names are
// standardised (upper case, single spaces; apostrophes already removed and
// hyphens already turned into spaces), so "equal ignoring spaces, hyphens and
// apostrophes" is equal once spaces are removed.
const nameLevel = (x, y, xs, ys, xn, yn) => `CASE
    WHEN ${x} IS NULL OR ${y} IS NULL THEN 0
    WHEN ${x} = ${y} THEN 1
    WHEN replace(${x}, ' ', '') = replace(${y}, ' ', '') THEN 2
    WHEN jaro_winkler_similarity(${x}, ${y}) >= 0.92 THEN 3
    WHEN jaro_winkler_similarity(${x}, ${y}) >= 0.88 THEN 4
    WHEN damerau_levenshtein(${x}, ${y}) <= 1 THEN 5
    WHEN damerau_levenshtein(${x}, ${y}) <= 2 THEN 6
    WHEN ${xs} = ${ys} OR ${xn} = ${yn} THEN 7
    WHEN (length(${x}) = 1 OR length(${y}) = 1) AND left(${x}, 1) = left(${y}, 1) THEN 8
    WHEN (contains(${x}, ' ') OR contains(${y}, ' '))
         AND len(list_filter(list_intersect(string_split(${x}, ' '), string_split(${y}, ' ')), lambda t: length(t) >= 2)) > 0 THEN 9
    ELSE 10 END`;
// tsr__name_close at swap_jw 0.92: equal once spaces are removed, or JW >= 0.92
const close = (x, y) => `(replace(${x}, ' ', '') = replace(${y}, ' ', '') OR jaro_winkler_similarity(${x}, ${y}) >= 0.92)`;
// "agrees": a level from exact to phonetic (agree_worst)
const agrees = g => `${g} BETWEEN 1 AND 7`;

const inner = from => `SELECT a, b, l_given, l_family, r_given, r_family,
    ${nameLevel('l_given', 'r_given', 'l_given_sdx', 'r_given_sdx', 'l_given_nys', 'r_given_nys')} AS g_given,
    ${nameLevel('l_family', 'r_family', 'l_family_sdx', 'r_family_sdx', 'l_family_nys', 'r_family_nys')} AS g_family,
    CASE WHEN l_dob IS NULL OR r_dob IS NULL THEN 0
      WHEN l_dob = r_dob THEN 1
      WHEN year(l_dob) = year(r_dob) AND day(l_dob) = month(r_dob) AND month(l_dob) = day(r_dob) THEN 2
      WHEN hamming(strftime(l_dob, '%Y%m%d'), strftime(r_dob, '%Y%m%d')) = 1 THEN 3
      WHEN year(l_dob) = year(r_dob) AND month(l_dob) = month(r_dob) THEN 4
      WHEN abs(l_dob - r_dob) <= 30 THEN 5
      WHEN year(l_dob) = year(r_dob) AND ((month(l_dob) = 1 AND day(l_dob) = 1) <> (month(r_dob) = 1 AND day(r_dob) = 1)) THEN 6
      WHEN abs(year(l_dob) - year(r_dob)) <= 1 THEN 7
      ELSE 8 END AS g_dob,
    CASE WHEN l_postcode IS NULL OR r_postcode IS NULL THEN 0
      WHEN l_postcode = r_postcode THEN 1
      WHEN left(l_postcode, length(l_postcode) - 2) = left(r_postcode, length(r_postcode) - 2) THEN 2
      WHEN split_part(l_postcode, ' ', 1) = split_part(r_postcode, ' ', 1) THEN 3
      WHEN regexp_extract(l_postcode, '^[A-Z]+') = regexp_extract(r_postcode, '^[A-Z]+') THEN 4
      ELSE 5 END AS g_postcode,
    CASE WHEN l_sex IS NULL OR r_sex IS NULL OR l_sex IN (0, 9) OR r_sex IN (0, 9) THEN 0
      WHEN l_sex = r_sex THEN 1 ELSE 2 END AS g_sex,
    CASE WHEN l_nhs IS NULL OR r_nhs IS NULL THEN 0
      WHEN l_nhs = r_nhs AND l_nhs_valid THEN 1
      WHEN l_nhs = r_nhs OR hamming(l_nhs, r_nhs) = 1
        OR (hamming(l_nhs, r_nhs) = 2 AND list_sort(string_split(l_nhs, '')) = list_sort(string_split(r_nhs, ''))) THEN 2
      WHEN l_nhs_valid AND r_nhs_valid THEN 3
      ELSE 4 END AS g_nhs,
    CASE WHEN l_provider IS NULL OR r_provider IS NULL OR l_provider <> r_provider
        OR l_local_id IS NULL OR r_local_id IS NULL THEN 0
      WHEN l_local_id = r_local_id THEN 1 ELSE 2 END AS g_local_id
  FROM ${from}`;
const levels = from => `SELECT a, b, g_given, g_family,
    CASE WHEN g_given = 0 AND g_family = 0 THEN 0
      WHEN g_given IN (1, 2) AND g_family IN (1, 2) THEN 1
      WHEN l_given IS NOT NULL AND l_family IS NOT NULL AND r_given IS NOT NULL AND r_family IS NOT NULL
        AND ${close('l_given', 'r_family')} AND ${close('l_family', 'r_given')} THEN 2
      WHEN ${agrees('g_given')} AND ${agrees('g_family')} THEN 3
      WHEN ${agrees('g_family')} THEN 4
      WHEN ${agrees('g_given')} THEN 5
      ELSE 6 END AS g_full,
    g_dob, g_postcode, g_sex, g_nhs, g_local_id
  FROM (${inner(from)})`;
// Double literals with an exponent are DOUBLE in DuckDB (without, DECIMAL) and
// read back as the same double; the weights are multiples of 2^-32, so the sum
// is exact in any order and must equal Tessera's to the bit.
const lit = w => Number(w).toExponential();
const weightExpr = ['(' + lit(model.prior), ...model.comparisons.map(k =>
  `CASE g_${k.name} ${k.levels.map((l, i) => `WHEN ${i} THEN ${lit(l.weight)}`).join(' ')} END`)].join('\n    + ') + ')';
const scored = from => `SELECT *, ${weightExpr} AS weight FROM (${levels(from)})`;
const recCols = side => ['given', 'family', 'given_sdx', 'given_nys', 'family_sdx', 'family_nys', 'dob', 'postcode',
  'sex', 'nhs', 'nhs_valid', 'local_id', 'provider'].map(f => `${side}.${f} AS ${side}_${f}`).join(', ');
const joined = `(SELECT p.a, p.b, ${recCols('l')}, ${recCols('r')}
    FROM p JOIN rec l ON l.gid = p.a JOIN rec r ON r.gid = p.b)`;
const timedSql = `SELECT count(*), sum(weight), count(*) FILTER (WHERE weight >= 0) FROM (${scored(joined)})`;
writeFileSync(`${dir}/score_peer.sql`, timedSql + ';\n');

// --- timed runs -----------------------------------------------------------------------
const median = v => { const s = [...v].sort((x, y) => x - y), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
console.log('bench,threads,run,pairs,seconds,pairs_per_s,sum_weight,above_0');
const duck = [];
for (const th of threadList) {
  await c.run(`SET threads = ${th}`);
  const wall = [];
  let res;
  for (let r = 0; r <= runs; r++) {
    t0 = process.hrtime.bigint();
    res = (await rows(timedSql))[0];
    const dt = secs();
    if (r === 0) continue;
    wall.push(dt);
    console.log(`score_peer_duckdb,${th},${r},${res[0]},${dt.toFixed(3)},${Math.round(res[0] / dt)},${res[1].toFixed(6)},${res[2]}`);
  }
  duck.push({ threads: th, pairs: res[0], sum_weight: res[1], above_0: res[2], wall, wall_median: median(wall) });
}

// --- agreement, pair by pair (untimed) ------------------------------------------------
await c.run(`SET threads = ${Math.max(...threadList)}`);
t0 = process.hrtime.bigint();
await c.run(`create table s as select p.*, ${[...cmps.map(n => `d.g_${n}`), 'd.weight'].join(', ')}
  from p join (${scored(joined)}) d on d.a = p.a and d.b = p.b`);
const diffCols = [...cmps.map(n => `count(*) FILTER (WHERE g_${n} IS DISTINCT FROM t_${n})`),
  'count(*) FILTER (WHERE weight IS DISTINCT FROM t_weight)', 'count(*)'];
const [diff] = await rows(`select ${diffCols.join(', ')} from s`);
const agreement = { pairs: diff[cmps.length + 1], weight_differs: diff[cmps.length], levels_differ: {} };
console.log(`# agreement (${secs().toFixed(1)} s, untimed): ${agreement.pairs} pairs joined back (of ${npairs})`);
for (let k = 0; k < cmps.length; k++) {
  const n = cmps[k], names = model.comparisons[k].levels.map(l => l.name);
  agreement.levels_differ[n] = diff[k];
  const hist = await rows(`select t_${n}, count(*) from s group by 1 order by 1`);
  console.log(`#   ${n.padEnd(8)}: ${diff[k]} pairs differ; levels ${hist.map(([l, m]) => `${names[l]} ${m}`).join(', ')}`);
  if (diff[k]) {
    const ex = await rows(`select s.a, s.b, t_${n}, g_${n}, l.given, l.family, r.given, r.family, l.dob::VARCHAR, r.dob::VARCHAR,
      l.postcode, r.postcode, l.nhs, r.nhs from s join rec l on l.gid = s.a join rec r on r.gid = s.b
      where g_${n} IS DISTINCT FROM t_${n} limit 5`);
    for (const e of ex) console.log(`#     e.g. ${JSON.stringify(e, big)}`);
  }
}
console.log(`#   weight  : ${agreement.weight_differs} pairs differ (compared as doubles, to the bit)`);
if (agreement.weight_differs || Object.values(agreement.levels_differ).some(n => n)) process.exitCode = 1;
if (agreement.weight_differs) console.log('#     e.g. ' + JSON.stringify(await rows('select a, b, t_weight, weight from s where weight IS DISTINCT FROM t_weight limit 5'), big));

// --- summary --------------------------------------------------------------------------
const summary = [];
for (const d of duck) {
  const t = tess.threads.find(x => x.threads === d.threads);
  if (!t) continue;
  const ratio = t.wall_median / d.wall_median;
  summary.push({ threads: d.threads, tessera_s: t.wall_median, duckdb_s: d.wall_median, ratio,
    tessera_pairs_per_s_per_thread: t.pairs / t.wall_median / d.threads,
    duckdb_pairs_per_s_per_thread: d.pairs / d.wall_median / d.threads });
  if (t.pairs !== d.pairs) console.log(`# PAIRS DIFFER at ${d.threads} threads: Tessera ${t.pairs}, DuckDB ${d.pairs}`);
  if (t.above_0 !== d.above_0) console.log(`# PAIRS WITH WEIGHT >= 0 DIFFER at ${d.threads} threads: Tessera ${t.above_0}, DuckDB ${d.above_0}`);
  console.log(`# threads ${d.threads}: Tessera ${t.wall_median.toFixed(3)} s (block + score + weight), DuckDB ${d.wall_median.toFixed(3)} s (join + score + weight): ` +
    `Tessera/DuckDB ${ratio.toFixed(4)} (${(1 / ratio).toFixed(1)}x); per thread ${(t.pairs / t.wall_median / d.threads / 1e6).toFixed(2)}M vs ${(d.pairs / d.wall_median / d.threads / 1e6).toFixed(3)}M pairs/s`);
}
const t1 = tess.threads.find(x => x.threads === 1), t2 = tess.threads.find(x => x.threads === 2);
const d1 = duck.find(x => x.threads === 1), d2 = duck.find(x => x.threads === 2);
const speedup = t1 && t2 ? t1.wall_median / t2.wall_median : null;
if (speedup) console.log(`# Tessera 2 threads vs 1: ${speedup.toFixed(2)}x (wall, block + score + weight)` +
  (d1 && d2 ? `; DuckDB ${(d1.wall_median / d2.wall_median).toFixed(2)}x` : ''));
writeFileSync(`${dir}/peer.json`, JSON.stringify({ records: nrec, pairs: npairs, runs, duckdb: duck, tessera: tess.threads,
  summary, tessera_speedup_2_vs_1: speedup, agreement }, big, 2) + '\n');

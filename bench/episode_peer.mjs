// DuckDB half of the episode peer (bench/episode_peer.sh): provider spells and
// continuous inpatient spells (CIPS) computed in SQL with window functions, as
// published HES pipelines do, from the same hospital episodes and the same
// patients as Tessera's episode stage, then checked against the generator's
// truth and (when the run has them) Tessera's spells.parquet and cips.parquet.
//
// The rules (docs DOMAIN.md "Hospital episodes, spells and continuous
// inpatient spells"; issue 10):
//   spells: finished episodes (epistat 3) only, partitioned by patient and
//     provider, ordered by epistart, epiend, epiorder and the episode key. An
//     episode continues the current spell when it has the previous episode's
//     admidate, or its epistart, or the previous dismeth is 8 or 9 and this
//     epistart is the previous epiend (LAG); else it starts a new one, and a
//     running SUM over the "new spell" flags numbers the spells.
//   spell attributes: admidate, admimeth, admisorc, classpat and diagnosis of
//     the first episode; disdate, disdest and dismeth of the last.
//   CIPS: a patient's spells in admission order (admidate, provider, first
//     episode's record order: the spell_id order of PLAN10.md); a spell joins
//     the previous spell's CIPS when
//       ukhsa (default): admidate - previous disdate in 0..2 days, and the
//         previous disdest is 49-53 or 84, or admisorc is 49-53 or 87, or
//         admimeth is 2B or 81; and neither spell is a regular day or night
//         attender (classpat 3 or 4);
//       health_foundation: the gap in 0..3 days, and the previous disdest or
//         admisorc is 51-53, or admimeth is 2B or 81 (the issue names no
//         classpat exclusion for this variant, so none is applied).
//     A previous spell without a disdate never takes a transfer.
//
// Three groupings of the same episodes into patients:
//   linked: the run's links.parquet (source 'hes', record_id = epikey);
//   nhs:    the raw NHS number alone (newnhsno without its spaces, no check
//           digit test; a row without one is its own patient);
//   truth:  the generator's truth.csv (source 'hes').
// For each: spells and CIPS counted, exact matches against truth_spells.csv
// (a computed spell whose episodes are exactly one true spell's), pairwise
// precision and recall over the episode pairs sharing a spell (a CIPS), and
// emergency readmissions: a CIPS whose first spell's admimeth is an emergency
// (2x) and whose admission is 0..30 days after the discharge of the same
// patient's previous CIPS (by its first episode's epikey), set against the
// ones in the true partition (truth patients and truth_spells.csv cips_id):
// "hidden" are true readmissions a grouping misses, "invented" are its
// readmissions that are not true ones.
//
// Untimed: loading hes_apc.csv, links.parquet and the truth files, and
// attaching each grouping's patient id to the episodes. Timed, per thread
// count (SET threads), `runs` runs after one warm-up, on the linked grouping:
// the spells (window + aggregate, spell_id numbered as in PLAN10.md), the
// CIPS (window over the spells, cips_id numbered), and the episode -> spell,
// CIPS map, each materialised as a table. Tessera's figures come from the
// run folder (spells.parquet, cips.parquet, report.json's "episodes" stage)
// when the episode stage has written them; otherwise a placeholder says so.
// OUT/peer.json holds all figures. The exit status is 1 when Tessera's
// files differ from DuckDB's, or (with PEER_STRICT_TRUTH=1, as for the
// hand-worked edge cases) the truth grouping does not reproduce the true
// partition exactly. On generated data a few true spells differ: the
// generator's corrupted admidate can land on the next admission's date, and
// DOMAIN.md's "same admidate" rule then continues the spell (see
// docs/benchmarks.md), so there it is reported, not fatal.
//
// usage: node bench/episode_peer.mjs DATA RUN OUT [threads=1,2] [runs=3] [variant=ukhsa]
//   (RUN may hold timing runs RUN_t1_1 ... written by episode_peer.sh: see there)
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { resolve, dirname, basename } from 'node:path';

if (process.argv.length < 5) {
  console.error('usage: node bench/episode_peer.mjs DATA RUN OUT [threads=1,2] [runs=3] [variant=ukhsa]');
  process.exit(2);
}
const data = resolve(process.argv[2]);
const run = resolve(process.argv[3]);
const out = resolve(process.argv[4]);
const threadList = (process.argv[5] || '1,2').split(',').map(Number);
const runs = Number(process.argv[6] || 3);
const variant = process.argv[7] || 'ukhsa';
if (!['ukhsa', 'health_foundation'].includes(variant)) {
  console.error(`episode_peer: variant must be ukhsa or health_foundation, not '${variant}'`);
  process.exit(2);
}
const q = s => s.replaceAll("'", "''");
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const db = await DuckDBInstance.create(':memory:', { threads: String(Math.max(...threadList)) });
const c = await db.connect();
const dbg = process.env.PEER_DEBUG ? (sql, t) => console.error(`[${t.toFixed(2)} s] ${sql.trim().slice(0, 70).replace(/\s+/g, ' ')}`) : null;
if (dbg) {
  const run0 = c.run.bind(c), rr0 = c.runAndReadAll.bind(c);
  const wrap = f => async sql => { const a = process.hrtime.bigint(); const r = await f(sql); dbg(sql, Number(process.hrtime.bigint() - a) / 1e9); return r; };
  c.run = wrap(run0); c.runAndReadAll = wrap(rr0);
}
const rows = async sql => (await c.runAndReadAll(sql)).getRows().map(r => r.map(v => (typeof v === 'bigint' ? Number(v) : v)));
const one = async sql => (await rows(sql))[0];
let t0 = process.hrtime.bigint();
const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;

// --- load (untimed) -------------------------------------------------------------------
// rec: the row's order in hes_apc.csv (the "record order" of PLAN10.md).
await c.run(`create table hes as select row_number() over () as rec, * from read_csv('${q(data)}/hes_apc.csv',
  header = true, nullstr = '', all_varchar = true)`);
await c.run(`create table ep as select rec, epikey, try_cast(epikey as bigint) as epinum, procode,
  try_cast(admidate as date) as admidate, try_cast(epistart as date) as epistart, try_cast(epiend as date) as epiend,
  try_cast(disdate as date) as disdate, try_cast(epiorder as integer) as epiorder, epistat, admimeth, admisorc,
  disdest, dismeth, classpat, diag_4_01 as diag, replace(newnhsno, ' ', '') as nhs from hes`);
await c.run('drop table hes');
await c.run(`create table lk as select record_id, patient_id from read_parquet('${q(run)}/links.parquet') where source = 'hes'`);
await c.run(`create table tp as select record_id, patient_id from read_csv('${q(data)}/truth.csv', header = true,
  columns = {'source': 'VARCHAR', 'record_id': 'VARCHAR', 'patient_id': 'BIGINT'}) where source = 'hes'`);
await c.run(`create table ts as select * from read_csv('${q(data)}/truth_spells.csv', header = true,
  columns = {'epikey': 'VARCHAR', 'spell_id': 'BIGINT', 'cips_id': 'BIGINT'})`);
const [nep, nfin] = await one(`select count(*), count(*) filter (where epistat = '3') from ep`);
const [nlk] = await one('select count(*) from lk');
// each grouping's episodes with its patient id; an episode without one (not in
// links.parquet, no NHS number, not in truth.csv) is its own patient
const groupings = {
  linked: 'left join lk on lk.record_id = ep.epikey', nhs: '', truth: 'left join tp on tp.record_id = ep.epikey',
};
const pidExpr = {
  linked: 'coalesce(lk.patient_id, -ep.rec)', truth: 'coalesce(tp.patient_id, -ep.rec)',
  // an NHS number is 10 digits; anything else is kept as text, hashed
  // (hash(NULL) is not NULL: a row without one is tested first)
  nhs: `case when ep.nhs is null then -ep.rec else coalesce(try_cast(ep.nhs as bigint), -((hash(ep.nhs) >> 2)::bigint)) end`,
};
const missing = {};
for (const g of Object.keys(groupings)) {
  await c.run(`create table ep_${g} as select ${pidExpr[g]} as pid, ep.* exclude (nhs) from ep ${groupings[g]}`);
  if (g !== 'nhs') [missing[g]] = await one(`select count(*) from ep ${groupings[g]} where ${g === 'linked' ? 'lk' : 'tp'}.patient_id is null`);
}
[missing.nhs] = await one(`select count(*) from ep where nhs is null`);
console.log(`# duckdb ${(await one('select version()'))[0]}: ${nep} episodes (${nfin} finished), ${nlk} hes rows in links.parquet, loaded in ${secs().toFixed(1)} s (untimed)`);
console.log(`# episodes without a patient (each its own): linked ${missing.linked}, truth ${missing.truth}, without an NHS number ${missing.nhs}`);

// --- spells and CIPS in SQL -----------------------------------------------------------
const cipsJoin = variant === 'ukhsa'
  ? `s.admidate - p.disdate between 0 and 2
       and (p.disdest in ('49','50','51','52','53','84') or s.admisorc in ('49','50','51','52','53','87')
            or s.admimeth in ('2B','81'))
       and coalesce(s.classpat, '') not in ('3','4') and coalesce(p.classpat, '') not in ('3','4')`
  : `s.admidate - p.disdate between 0 and 3
       and (p.disdest in ('51','52','53') or s.admisorc in ('51','52','53') or s.admimeth in ('2B','81'))`;

// g: grouping; sfx: table suffix. Creates sp_<sfx> (spells), ci_<sfx> (CIPS)
// and em_<sfx> (episode -> spell_id, cips_id, spell_order).
const build = async (g, sfx) => {
  // 1. each finished episode flagged "new spell" against the previous one of
  //    its patient and provider; a running sum gives its spell within them
  await c.run(`create or replace temp table e_${sfx} as
    with o as (
      select *, lag(admidate) over w as p_admidate, lag(epistart) over w as p_epistart,
             lag(epiend) over w as p_epiend, lag(dismeth) over w as p_dismeth,
             row_number() over w as k
      from ep_${g} where epistat = '3'
      window w as (partition by pid, procode order by epistart, epiend, epiorder, epinum, rec))
    select *, sum(case when k > 1 and (admidate = p_admidate or epistart = p_epistart
                                       or (p_dismeth in ('8','9') and epistart = p_epiend)) then 0 else 1 end)
                over (partition by pid, procode order by k rows unbounded preceding) as sl
    from o`);
  // 2. one row per spell: first and last episode's attributes; spell_id in
  //    (patient, admidate, provider, first episode's record order) order
  await c.run(`create or replace temp table s_${sfx} as
    select row_number() over (order by pid, admidate, procode, first_rec) as spell_id, *
    from (select pid, procode, sl,
                 arg_min_null(admidate, k) as admidate, arg_max_null(disdate, k) as disdate,
                 arg_min_null(admimeth, k) as admimeth, arg_min_null(admisorc, k) as admisorc,
                 arg_max_null(disdest, k) as disdest, arg_max_null(dismeth, k) as dismeth,
                 arg_min_null(classpat, k) as classpat, arg_min_null(diag, k) as diag,
                 arg_min_null(rec, k) as first_rec, count(*)::integer as episodes,
                 (arg_max_null(disdate, k) - arg_min_null(admidate, k))::integer as los
          from e_${sfx} group by pid, procode, sl)`);
  // 3. CIPS: each spell against the patient's previous spell; cips_id a
  //    running sum of the "new CIPS" flags in spell_id order
  await c.run(`create or replace temp table sp_${sfx} as
    with o as (
      select s.*, lag(disdate) over w as p_disdate, lag(disdest) over w as p_disdest,
             lag(classpat) over w as p_classpat, row_number() over w as k
      from s_${sfx} s window w as (partition by pid order by spell_id))
    select s.* exclude (p_disdate, p_disdest, p_classpat, k),
           sum(case when k > 1 and ${cipsJoin.replaceAll('p.', 'p_')} then 0 else 1 end)
             over (order by spell_id rows unbounded preceding) as cips_id
    from o s`);
  await c.run(`create or replace temp table ci_${sfx} as
    select cips_id, any_value(pid) as patient_id, min(admidate) as admidate, max(disdate) as disdate,
           count(*)::integer as spells, count(distinct procode)::integer as providers,
           (max(disdate) - min(admidate))::integer as los
    from sp_${sfx} group by cips_id`);
  await c.run(`create or replace temp table em_${sfx} as
    select e.epikey, e.rec, s.spell_id, s.cips_id, e.sl, row_number() over (partition by s.spell_id order by e.k)::integer as spell_order
    from e_${sfx} e join sp_${sfx} s using (pid, procode, sl)`);
};
const drop = async sfx => { for (const t of ['e', 's', 'sp', 'ci', 'em']) await c.run(`drop table if exists ${t}_${sfx}`); };

// --- timing on the linked patients -----------------------------------------------------
const timing = {};
for (const th of threadList) {
  await c.run(`set threads = ${th}`);
  const ts = [];
  for (let i = 0; i <= runs; i++) {
    await drop('t');
    t0 = process.hrtime.bigint();
    await build('linked', 't');
    const s = secs();
    if (i > 0) ts.push(s);
  }
  timing[th] = { runs: ts, median: median(ts) };
  console.log(`# duckdb threads ${th}: spells + CIPS in ${ts.map(s => s.toFixed(3)).join(' ')} s, median ${median(ts).toFixed(3)} s`);
}
await drop('t');
await c.run(`set threads = ${Math.max(...threadList)}`);

// --- the three groupings against truth -------------------------------------------------
// true readmissions: the true partition (truth patients, truth_spells cips_id)
await c.run(`create temp table tt as
  select e.*, ts.spell_id as t_spell, ts.cips_id as t_cips from ep_truth e join ts using (epikey)`);
const [nts, ntc, ntsEp] = await one(`select count(distinct t_spell), count(distinct t_cips), count(*) from tt`);
// a CIPS's first episode (by admidate, epistart, epiend, epiorder, key) and its
// discharge; an emergency CIPS 0..30 days after the patient's previous one
const readmit = (tbl, pidc, cipsc) => `
  with c as (
    select ${pidc} as pid, ${cipsc} as cid,
           arg_min(epikey, (admidate, epistart, epiend, epiorder, epinum, rec)) as first_key,
           arg_min(admimeth, (admidate, epistart, epiend, epiorder, epinum, rec)) as admimeth,
           min(admidate) as admidate, max(disdate) as disdate
    from ${tbl} group by all),
  o as (select *, lag(disdate) over (partition by pid order by admidate, first_key) as p_disdate from c)
  select first_key from o where admimeth like '2%' and admidate - p_disdate between 0 and 30`;
await c.run(`create temp table rd_true as ${readmit('tt', 'pid', 't_cips')}`);
const [nrdTrue] = await one('select count(*) from rd_true');

const res = {};
for (const g of Object.keys(groupings)) {
  await build(g, g);
  const [ns] = await one(`select count(*) from sp_${g}`);
  const [nc] = await one(`select count(*) from ci_${g}`);
  const [multi] = await one(`select count(*) filter (where episodes > 1) / count(*) from sp_${g}`);
  const r = { n_spells: ns, n_cips: nc, spells_multi_episode_share: multi };
  // exact matches and pairwise precision/recall, for spells and CIPS
  for (const [lvl, mine, truth] of [['spell', 'spell_id', 't_spell'], ['cips', 'cips_id', 't_cips']]) {
    await c.run(`create or replace temp table ab as
      select a, b, n, sum(n) over (partition by a) as na, sum(n) over (partition by b) as nb
      from (select m.${mine} as a, t.${truth} as b, count(*) as n from em_${g} m join tt t using (epikey) group by all)`);
    const [exact, tp] = await one('select count(*) filter (where n = na and n = nb), sum(n * (n - 1) // 2) from ab');
    const [predPairs] = await one('select sum(na * (na - 1) // 2) from (select any_value(na) as na from ab group by a)');
    const [truePairs] = await one('select sum(nb * (nb - 1) // 2) from (select any_value(nb) as nb from ab group by b)');
    const tot = lvl === 'spell' ? nts : ntc;
    r[lvl] = { exact, true_total: tot, exact_share: exact / tot,
      pair_precision: predPairs ? tp / predPairs : 1, pair_recall: truePairs ? tp / truePairs : 1 };
  }
  await c.run(`create temp table rd_${g} as ${readmit(`(select e.*, m.cips_id from ep_${g} e join em_${g} m using (epikey))`, 'pid', 'cips_id')}`);
  const [nrd, hidden, invented] = await one(`select (select count(*) from rd_${g}),
    (select count(*) from rd_true anti join rd_${g} using (first_key)),
    (select count(*) from rd_${g} anti join rd_true using (first_key))`);
  r.readmissions_30d = { count: nrd, true: nrdTrue, hidden, invented };
  res[g] = r;
}

const pct = x => (100 * x).toFixed(3) + '%';
console.log(`# truth: ${nts} spells, ${ntc} CIPS over ${ntsEp} episodes; ${nrdTrue} emergency readmissions within 30 days (CIPS level)`);
console.log(`# CIPS variant: ${variant}`);
console.log('# grouping   spells    CIPS      exact spells          exact CIPS            spell P / R         readmissions (hidden, invented)');
for (const [g, r] of Object.entries(res)) {
  console.log(`# ${g.padEnd(9)} ${String(r.n_spells).padStart(9)} ${String(r.n_cips).padStart(9)}  ` +
    `${String(r.spell.exact).padStart(9)} ${pct(r.spell.exact_share).padStart(9)}  ` +
    `${String(r.cips.exact).padStart(9)} ${pct(r.cips.exact_share).padStart(9)}  ` +
    `${r.spell.pair_precision.toFixed(5)} / ${r.spell.pair_recall.toFixed(5)}  ` +
    `${r.readmissions_30d.count} (${r.readmissions_30d.hidden}, ${r.readmissions_30d.invented})`);
}
let status = 0;
const tr = res.truth;
if (variant === 'ukhsa') {
  const ok = tr.n_spells === nts && tr.n_cips === ntc && tr.spell.exact === nts && tr.cips.exact === ntc;
  console.log(`# truth patients reproduce truth_spells.csv exactly: ${ok ? 'yes' : 'NO'}` +
    (ok ? '' : ` (${nts - tr.spell.exact} true spells, ${ntc - tr.cips.exact} true CIPS not matched exactly; the first few below)`));
  if (!ok) {
    if (process.env.PEER_STRICT_TRUTH) status = 1;
    // show a few differing true spells with their episodes
    const diff = await rows(`
      with j as (select m.spell_id as a, t.t_spell as b, t.epikey from em_truth m join tt t using (epikey)),
           bad as (select distinct b from j where a in (select a from j group by a having count(distinct b) > 1)
                   or b in (select b from j group by b having count(distinct a) > 1))
      select t.pid, t.epikey, t.procode, t.admidate, t.epistart, t.epiend, t.disdate, t.epiorder, t.dismeth,
             t.admimeth, t.admisorc, t.disdest, t.classpat, t.t_spell, m.spell_id
      from tt t join em_truth m using (epikey) where t.t_spell in (select b from bad order by b limit 5)
      order by t.pid, t.epistart, t.rec`);
    for (const d of diff) console.log('#   ' + d.map(String).join(','));
  }
}

// --- the linked grouping in PLAN10.md's schemas ------------------------------------------
// (practice left null: the GP registrations are not built here). With
// PEER_EXPORT=DIR set, DuckDB's episodes/spells/cips.parquet are written there.
await c.run(`create temp view d_episodes as
  select 'hes' as source, e.epikey as record_id, e.pid as patient_id, m.spell_id, m.cips_id, m.spell_order,
         e.epistat = '3' as finished
  from ep_linked e left join em_linked m using (epikey) order by e.rec`);
await c.run(`create temp view d_spells as
  select spell_id, pid as patient_id, cips_id, procode as provider, admidate, disdate, admimeth, admisorc, disdest,
         dismeth, episodes, los, diag, null::varchar as practice from sp_linked order by spell_id`);
await c.run(`create temp view d_cips as select cips_id, patient_id, admidate, disdate, spells, providers, los
  from ci_linked order by cips_id`);
if (process.env.PEER_EXPORT) {
  const ex = resolve(process.env.PEER_EXPORT);
  for (const t of ['episodes', 'spells', 'cips'])
    await c.run(`copy (select * from d_${t}) to '${q(ex)}/${t}.parquet' (format parquet)`);
  console.log(`# duckdb's episodes, spells and cips.parquet written to ${ex}`);
}

// --- Tessera's side ------------------------------------------------------------------
// Counts from RUN/spells.parquet and RUN/cips.parquet; the episode stage's time
// from report.json's "episodes" stage (building spells, CIPS and periods; writing
// the four files is the separate "episodes output" stage) of the timing runs RUN_t<threads>_<i>
// (episode_peer.sh writes them when the stage exists).
const tess = { present: existsSync(`${run}/spells.parquet`) && existsSync(`${run}/cips.parquet`) };
if (tess.present) {
  [tess.spells] = await one(`select count(*) from read_parquet('${q(run)}/spells.parquet')`);
  [tess.cips] = await one(`select count(*) from read_parquet('${q(run)}/cips.parquet')`);
  const report = JSON.parse(readFileSync(`${run}/report.json`, 'utf8'));
  const stage = (report.stages || []).find(s => s.stage === 'episodes');
  tess.variant = report.episodes?.cips_rule ?? null;
  tess.core_seconds = report.episodes?.seconds ?? null; // the stage's computing part, without its files
  tess.stage_seconds = stage ? stage.seconds : null;
  tess.timing = {};
  for (const th of threadList) {
    const ts = [], core = [];
    for (const d of readdirSync(dirname(run)).filter(n => n.startsWith(`${basename(run)}_t${th}_`)).sort()) {
      const rp = JSON.parse(readFileSync(`${dirname(run)}/${d}/report.json`, 'utf8'));
      const st = (rp.stages || []).find(s => s.stage === 'episodes');
      if (st) ts.push(st.seconds);
      if (st && rp.episodes?.seconds != null) core.push(rp.episodes.seconds);
    }
    if (ts.length) tess.timing[th] = { runs: ts, median: median(ts), core_runs: core, core_median: core.length ? median(core) : null };
  }
  const same = tess.spells === res.linked.n_spells && tess.cips === res.linked.n_cips;
  console.log(`# tessera (${run}): ${tess.spells} spells, ${tess.cips} CIPS` +
    `${tess.variant ? ` (${tess.variant})` : ''}; duckdb on the same patients: ${res.linked.n_spells}, ${res.linked.n_cips}: ` +
    `${same ? 'identical' : 'DIFFERENT'}`);
  if (!same) status = 1;
  if (tess.variant && tess.variant !== variant) {
    console.log(`# tessera used CIPS rule ${tess.variant}, this peer ${variant}: not comparable`);
    status = 1;
  }
  // row by row: the same spells and CIPS, numbered the same, with the same
  // attributes (practice aside), and every episode in the same spell
  const cmp = async (name, cols, dview, key) => {
    try {
      const [n1, n2] = await one(`select
        (select count(*) from (select ${cols} from read_parquet('${q(run)}/${name}.parquet') except all select ${cols} from ${dview})),
        (select count(*) from (select ${cols} from ${dview} except all select ${cols} from read_parquet('${q(run)}/${name}.parquet')))`);
      tess[`${name}_rows_differ`] = [n1, n2];
      console.log(`# ${name}.parquet (${cols.split(',').length} columns) vs duckdb: ${n1} Tessera rows not in DuckDB's, ${n2} DuckDB rows not in Tessera's` +
        `${n1 || n2 ? '' : ' (identical)'}`);
      if (n1 || n2) {
        status = 1;
        const ex = await rows(`(select 'tessera' as side, ${cols} from read_parquet('${q(run)}/${name}.parquet') except all select 'tessera', ${cols} from ${dview})
          union all (select 'duckdb', ${cols} from ${dview} except all select 'duckdb', ${cols} from read_parquet('${q(run)}/${name}.parquet'))
          order by ${key}, side limit 6`);
        for (const d of ex) console.log('#   ' + d.map(String).join(','));
      }
    } catch (e) {
      status = 1;
      console.log(`# ${name}.parquet: cannot compare (${String(e.message).split('\n')[0]})`);
    }
  };
  await cmp('spells', 'spell_id, patient_id, cips_id, provider, admidate, disdate, admimeth, admisorc, disdest, dismeth, episodes, los, diag', 'd_spells', 'spell_id');
  await cmp('cips', 'cips_id, patient_id, admidate, disdate, spells, providers, los', 'd_cips', 'cips_id');
  if (existsSync(`${run}/episodes.parquet`))
    await cmp('episodes', 'source, record_id, patient_id, spell_id, cips_id, spell_order, finished', 'd_episodes', 'record_id');
  for (const th of threadList) {
    const t = tess.timing[th];
    if (t) console.log(`# tessera threads ${th}: episode stage ${t.runs.map(s => s.toFixed(3)).join(' ')} s, median ${t.median.toFixed(3)} s; ` +
      `tessera / duckdb = ${(t.median / timing[th].median).toFixed(3)}` +
      (t.core_median != null ? ` (report.json episodes.seconds, without the files: median ${t.core_median.toFixed(3)} s)` : ''));
    else console.log(`# tessera threads ${th}: no timing runs (${basename(run)}_t${th}_*)${tess.stage_seconds != null ? `; the main run's episodes stage: ${tess.stage_seconds.toFixed(3)} s` : ''}`);
  }
  if (tess.timing[1] && tess.timing[2]) console.log(`# tessera speedup 1 -> 2 threads: ${(tess.timing[1].median / tess.timing[2].median).toFixed(2)}x`);
} else {
  console.log(`# tessera: PLACEHOLDER -- ${run} has no spells.parquet / cips.parquet (the episode stage has not run);` +
    ' no Tessera counts or times to compare');
}
if (timing[1] && timing[2]) console.log(`# duckdb speedup 1 -> 2 threads: ${(timing[1].median / timing[2].median).toFixed(2)}x`);

writeFileSync(`${out}/peer.json`, JSON.stringify({
  data, run, variant, episodes: nep, finished: nfin, missing_patient: missing,
  truth: { spells: nts, cips: ntc, readmissions_30d: nrdTrue }, duckdb: { timing, groupings: res }, tessera: tess,
}, null, 2) + '\n');
process.exit(status);

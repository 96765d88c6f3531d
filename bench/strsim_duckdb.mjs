// DuckDB peer for bench/bench_strsim.c: the same name pairs (written by
// `bench_strsim --pairs-out FILE`), loaded into a table untimed, then
// jaro_winkler_similarity, levenshtein and damerau_levenshtein summed over all
// pairs, one warm-up and N timed runs each, on one thread by default. The
// sums are the checksums bench_strsim prints for jaro_winkler and
// dl_unbounded, so both tools are seen to compute the same thing.
// CSV on stdout: bench,pairs,run,seconds,pairs_per_s,checksum
// usage: node bench/strsim_duckdb.mjs PAIRS.csv [threads=1] [runs=3]
import { DuckDBInstance } from '@duckdb/node-api';
import { resolve } from 'node:path';

if (!process.argv[2]) {
  console.error('usage: node bench/strsim_duckdb.mjs PAIRS.csv [threads=1] [runs=3]');
  process.exit(2);
}
const file = resolve(process.argv[2]);
const threads = Number(process.argv[3] || 1);
const runs = Number(process.argv[4] || 3);
const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const c = await db.connect();
await c.run(`create table p as select a, b from read_csv('${file.replaceAll("'", "''")}', header = true, columns = {'a': 'VARCHAR', 'b': 'VARCHAR'})`);
const n = Number((await c.runAndReadAll('select count(*) from p')).getRows()[0][0]);
const fns = [
  ['jaro_winkler', 'sum(jaro_winkler_similarity(a, b))'],
  ['jw_ge_0.88', 'count(*) filter (where jaro_winkler_similarity(a, b) >= 0.88)'],
  ['levenshtein', 'sum(levenshtein(a, b))'],
  ['damerau_levenshtein', 'sum(damerau_levenshtein(a, b))'],
];
console.log('bench,pairs,run,seconds,pairs_per_s,checksum');
for (const [name, expr] of fns) {
  for (let r = -1; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    const rows = (await c.runAndReadAll(`select ${expr} from p`)).getRows();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r < 0) continue;
    console.log(`duckdb_${name},${n},${r},${dt.toFixed(4)},${Math.round(n / dt)},${Number(rows[0][0]).toFixed(6)}`);
  }
}

// Two more outside readers of Tessera's Parquet, independent of DuckDB and of
// each other: parquet-wasm (the Rust arrow-rs/parquet crates compiled to
// WebAssembly; apache-arrow decodes the Arrow IPC it hands back) and
// hyparquet (pure JavaScript; hyparquet-compressors adds ZSTD). Each reads
// every file and is checked on schema (names, types, nullability), row
// counts, row groups and every value; hyparquet also decodes the footer
// statistics, which are checked against the values.
//
// usage: node tests/interop/js_readers.mjs cases DIR        (files pq_cases wrote)
//        node tests/interop/js_readers.mjs link RUN DATA    (a `tessera link --csv` run)
// Exit 1 on any mismatch.
import { readFileSync } from 'node:fs';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import * as wasm from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';

let failures = 0, passes = 0;
const show = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x));
function check(what, got, want) {
  const g = show(got), w = show(want);
  if (g === w) passes++;
  else {
    failures++;
    console.error(`FAIL ${what}\n  got:  ${g.slice(0, 400)}\n  want: ${w.slice(0, 400)}`);
  }
}
const day = (d) => new Date(d * 86400000).toISOString().slice(0, 10);

// --- the two readers, each giving the same normalised shape --------------------------
// { fields: ['name:type:nullable'], rows, groups: [rows per row group], cols: {name: [values]} }
// with values as: bool, number (int32, double), string (int64 as decimal text,
// strings, dates as YYYY-MM-DD), or null.
function readWasm(path) {
  const bytes = new Uint8Array(readFileSync(path));
  const t = tableFromIPC(wasm.readParquet(bytes).intoIPCStream());
  const kind = (ty) => {
    const s = String(ty);
    if (s === 'Bool') return 'bool';
    if (s === 'Int32') return 'int32';
    if (s === 'Int64') return 'int64';
    if (s === 'Float64') return 'double';
    if (s === 'Utf8' || s === 'LargeUtf8' || s === 'Utf8View') return 'string';
    if (s.startsWith('Date32')) return 'date';
    return `?${s}`;
  };
  const fields = t.schema.fields.map((f) => `${f.name}:${kind(f.type)}:${f.nullable}`);
  const cols = {};
  for (const f of t.schema.fields) {
    const v = t.getChild(f.name), k = kind(f.type), out = new Array(t.numRows);
    for (let i = 0; i < t.numRows; i++) {
      const x = v.get(i);
      out[i] = x === null || x === undefined ? null
        : k === 'int64' ? String(x)
        : k === 'date' ? new Date(Number(x)).toISOString().slice(0, 10)
        : x;
    }
    cols[f.name] = out;
  }
  return { fields, rows: t.numRows, cols };
}

function readHy(path) {
  const buf = readFileSync(path);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const md = parquetMetadata(ab);
  const leaves = md.schema.slice(1);
  const kind = (s) => {
    if (s.type === 'BOOLEAN') return 'bool';
    if (s.type === 'INT32') return s.converted_type === 'DATE' || s.logical_type?.type === 'DATE' ? 'date' : 'int32';
    if (s.type === 'INT64') return 'int64';
    if (s.type === 'DOUBLE') return 'double';
    if (s.type === 'BYTE_ARRAY' && (s.converted_type === 'UTF8' || s.logical_type?.type === 'STRING')) return 'string';
    return `?${s.type}`;
  };
  const fields = leaves.map((s) => `${s.name}:${kind(s)}:${s.repetition_type === 'OPTIONAL'}`);
  return parquetReadObjects({ file: ab, compressors }).then((objs) => {
    const cols = {};
    for (const s of leaves) {
      const k = kind(s);
      cols[s.name] = objs.map((o) => {
        const x = o[s.name];
        return x === null || x === undefined ? null
          : k === 'int64' ? String(x)
          : k === 'date' ? (x instanceof Date ? x.toISOString().slice(0, 10) : day(Number(x)))
          : x;
      });
    }
    return { fields, rows: Number(md.num_rows), groups: md.row_groups.map((g) => Number(g.num_rows)), cols, md, kinds: leaves.map(kind) };
  });
}

// Row groups and encodings as arrow-rs sees the footer (parquet-wasm's
// ParquetFile metadata API), so the wasm reader's view of the footer is
// checked too, not only its values.
async function wasmFooter(path) {
  const bytes = new Uint8Array(readFileSync(path));
  const pf = await wasm.ParquetFile.fromFile(new Blob([bytes]));
  const md = pf.metadata();
  const fm = md.fileMetadata();
  const out = { rows: Number(fm.numRows()), groups: [], dict: {}, createdBy: fm.createdBy() };
  for (let g = 0; g < md.numRowGroups(); g++) {
    const rg = md.rowGroup(g);
    out.groups.push(Number(rg.numRows()));
    for (let c = 0; c < rg.numColumns(); c++) {
      const cc = rg.column(c);
      const name = cc.columnPath().join('.');
      const enc = cc.encodings().map((e) => wasm.Encoding[e]);
      (out.dict[name] ||= []).push(enc.includes('RLE_DICTIONARY'));
    }
  }
  pf.free?.();
  return out;
}

// The statistics hyparquet decoded, against the values it read: min and max
// over the non-null values of each row group, and the null count.
function checkStats(file, hy) {
  let r0 = 0;
  hy.md.row_groups.forEach((g, gi) => {
    const n = Number(g.num_rows);
    g.columns.forEach((cc, ci) => {
      const name = cc.meta_data.path_in_schema.join('.'), k = hy.kinds[ci];
      const st = cc.meta_data.statistics;
      const vals = hy.cols[name].slice(r0, r0 + n);
      const present = vals.filter((v) => v !== null);
      const what = `${file} [hyparquet] row group ${gi} ${name} statistics`;
      if (!st) {
        check(`${what} present`, false, true);
        return;
      }
      check(`${what} null_count`, Number(st.null_count), n - present.length);
      if (!present.length) return;
      const norm = (x) => (x === null || x === undefined ? null
        : k === 'int64' ? String(x)
        : k === 'date' ? (x instanceof Date ? x.toISOString().slice(0, 10) : day(Number(x)))
        : x);
      let lo, hi;
      if (k === 'string') {
        const enc = new TextEncoder();
        const cmp = (a, b) => Buffer.compare(Buffer.from(enc.encode(a)), Buffer.from(enc.encode(b)));
        lo = present.reduce((a, b) => (cmp(b, a) < 0 ? b : a));
        hi = present.reduce((a, b) => (cmp(b, a) > 0 ? b : a));
        // bounds longer than 64 bytes are left out by design
        if (Buffer.byteLength(lo) > 64 || Buffer.byteLength(hi) > 64) {
          check(`${what} left out for long strings`, [st.min_value ?? null, st.max_value ?? null], [null, null]);
          return;
        }
      } else if (k === 'int64') {
        const b = present.map(BigInt);
        lo = String(b.reduce((a, x) => (x < a ? x : a)));
        hi = String(b.reduce((a, x) => (x > a ? x : a)));
      } else if (k === 'date') {
        lo = present.reduce((a, x) => (x < a ? x : a));
        hi = present.reduce((a, x) => (x > a ? x : a));
      } else if (k === 'bool') {
        lo = present.every((x) => x);
        hi = present.some((x) => x);
      } else {
        lo = present.reduce((a, x) => (x < a ? x : a));
        hi = present.reduce((a, x) => (x > a ? x : a));
      }
      check(`${what} min/max`, [norm(st.min_value), norm(st.max_value)], [lo, hi]);
    });
    r0 += n;
  });
}

// Reads path with both readers; checks fields, rows and (when given) every
// value against want(name, i); returns the hyparquet view for more checks.
async function readBoth(label, path, fields, nrows, want, groups) {
  const views = [['parquet-wasm', readWasm(path)], ['hyparquet', await readHy(path)]];
  for (const [who, v] of views) {
    check(`${label} [${who}] schema`, v.fields, fields);
    check(`${label} [${who}] rows`, v.rows, nrows);
    if (!want) continue;
    let bad = 0;
    for (const f of fields) {
      const name = f.split(':')[0], col = v.cols[name];
      if (!col) {
        check(`${label} [${who}] column ${name} present`, false, true);
        continue;
      }
      for (let i = 0; i < nrows && bad < 5; i++) {
        const w = want(name, i), g = col[i];
        if (!(g === w || (typeof g === 'number' && typeof w === 'number' && Object.is(g, w)))) {
          bad++;
          check(`${label} [${who}] row ${i} ${name}`, g, w);
        }
      }
    }
    check(`${label} [${who}] every value`, bad, 0);
  }
  const hy = views[1][1];
  if (groups) check(`${label} [hyparquet] rows per row group`, hy.groups, groups);
  const wf = await wasmFooter(path);
  check(`${label} [parquet-wasm] footer rows`, wf.rows, nrows);
  check(`${label} [parquet-wasm] created_by`, /^tessera version /.test(wf.createdBy ?? ''), true);
  if (groups) check(`${label} [parquet-wasm] rows per row group`, wf.groups, groups);
  checkStats(label, hy);
  return { hy, wf, wasm: views[0][1] };
}

// --- the files pq_cases writes (tests/interop/pq_cases.c) --------------------------------
async function cases(dir) {
  const ALL = ['b:bool:true', 'i32:int32:true', 'i64:int64:true', 'f64:double:true', 's:string:true', 'd:date:true'];
  {
    const n = 1000;
    const valid = { b: (i) => i % 5 !== 0, i32: (i) => i % 7 !== 0, i64: (i) => i % 4 !== 1, f64: (i) => i % 6 !== 2,
      s: (i) => i % 9 !== 0, d: (i) => i % 8 !== 3 };
    const value = { b: (i) => i % 3 === 0, i32: (i) => i - 500, i64: (i) => String(BigInt(i) * 1000000007n),
      f64: (i) => i * 0.5, s: (i) => `s${i}`, d: (i) => day(18000 + i) };
    const { hy } = await readBoth('nulls.parquet', `${dir}/nulls.parquet`, ALL, n,
      (c, i) => (valid[c](i) ? value[c](i) : null), [n]);
    const st = Object.fromEntries(hy.md.row_groups[0].columns.map((cc) => [cc.meta_data.path_in_schema[0],
      [String(cc.meta_data.statistics.min_value instanceof Date ? cc.meta_data.statistics.min_value.toISOString().slice(0, 10) : cc.meta_data.statistics.min_value),
        String(cc.meta_data.statistics.max_value instanceof Date ? cc.meta_data.statistics.max_value.toISOString().slice(0, 10) : cc.meta_data.statistics.max_value)]]));
    check('nulls.parquet [hyparquet] pinned min/max', st, { b: ['false', 'true'], i32: ['-499', '499'],
      i64: ['0', '999000006993'], f64: ['0', '499.5'], s: ['s1', 's998'], d: [day(18000), day(18999)] });
    check('nulls.parquet [hyparquet] created_by', hy.md.created_by?.startsWith('tessera version '), true);
    check('nulls.parquet [hyparquet] codec', hy.md.row_groups[0].columns.map((c) => c.meta_data.codec), ALL.map(() => 'ZSTD'));
  }
  await readBoth('empty.parquet', `${dir}/empty.parquet`, ALL, 0, () => null, []);
  {
    const n = 250000;
    const value = { id: (i) => String(i), grp: (i) => i % 100, val: (i) => (i % 1000) / 8 };
    const { wf } = await readBoth('multi_rg.parquet', `${dir}/multi_rg.parquet`,
      ['id:int64:false', 'grp:int32:false', 'val:double:false'], n, (c, i) => value[c](i), [50000, 50000, 50000, 50000, 50000]);
    check('multi_rg.parquet [parquet-wasm] dictionary per row group', [wf.dict.id, wf.dict.grp],
      [[false, false, false, false, false], [true, true, true, true, true]]);
  }
  {
    const n = 20000;
    const value = { dict_s: (i) => `cat${i % 10}`, plain_s: (i) => `cat${i % 10}`, auto_few: (i) => String((i % 4) * 10),
      auto_uniq: (i) => String(i * 3) };
    const { hy, wf } = await readBoth('dict_plain.parquet', `${dir}/dict_plain.parquet`,
      ['dict_s:string:false', 'plain_s:string:false', 'auto_few:int64:false', 'auto_uniq:int64:false'], n,
      (c, i) => value[c](i), [n]);
    const enc = Object.fromEntries(hy.md.row_groups[0].columns.map((c) => [c.meta_data.path_in_schema[0],
      [c.meta_data.encodings.includes('RLE_DICTIONARY'), c.meta_data.dictionary_page_offset !== undefined]]));
    check('dict_plain.parquet [hyparquet] encodings', enc,
      { dict_s: [true, true], plain_s: [false, false], auto_few: [true, true], auto_uniq: [false, false] });
    check('dict_plain.parquet [parquet-wasm] encodings', wf.dict,
      { dict_s: [true], plain_s: [false], auto_few: [true], auto_uniq: [false] });
  }
  {
    const words = ['Zoë', 'Ōkubo', 'Łódź', '北京', '😀🎉', '', 'plain', null];
    const { hy } = await readBoth('unicode.parquet', `${dir}/unicode.parquet`, ['row:int32:false', 's:string:true'], 8,
      (c, i) => (c === 'row' ? i : words[i]), [8]);
    check('unicode.parquet [hyparquet] codec', hy.md.row_groups[0].columns.map((c) => c.meta_data.codec),
      ['UNCOMPRESSED', 'UNCOMPRESSED']);
  }
}

// --- a real run: links.parquet and patients.parquet against the run's CSV copies ---------------
function parseCsv(text) {
  const rows = [];
  let row = [], f = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (c === '"') q = false;
      else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(f);
      f = '';
    } else if (c === '\n') {
      row.push(f);
      rows.push(row);
      row = [];
      f = '';
    } else if (c !== '\r') f += c;
  }
  if (f !== '' || row.length) {
    row.push(f);
    rows.push(row);
  }
  return rows;
}

async function link(run, data) {
  const tables = [
    ['links', ['source:string:false', 'record_id:string:false', 'patient_id:int64:false', 'rule:string:true',
      'match_weight:double:true', 'linked:bool:false']],
    ['patients', ['patient_id:int64:false', 'n_records:int64:false', 'n_gp:int64:false', 'n_hes:int64:false',
      'first_seen:date:true', 'last_seen:date:true']],
  ];
  const inputs = ['gp.csv', 'hes_apc.csv'].map((f) => parseCsv(readFileSync(`${data}/${f}`, 'utf8')).length - 1)
    .reduce((a, b) => a + b, 0);
  for (const [name, fields] of tables) {
    const csv = parseCsv(readFileSync(`${run}/${name}.csv`, 'utf8'));
    const head = csv[0], body = csv.slice(1);
    check(`${name}.csv header`, head, fields.map((f) => f.split(':')[0]));
    const types = Object.fromEntries(fields.map((f) => f.split(':').slice(0, 2)));
    const idx = Object.fromEntries(head.map((h, i) => [h, i]));
    const want = (c, i) => {
      const s = body[i][idx[c]];
      if (s === '') return types[c] === 'string' && c !== 'rule' ? '' : null;
      switch (types[c]) {
        case 'bool': return s === 'true';
        case 'double': return Number(s);
        case 'int32': return Number(s);
        default: return s; // int64, string, date: as text
      }
    };
    const { hy } = await readBoth(`${name}.parquet`, `${run}/${name}.parquet`, fields, body.length, want, null);
    check(`${name}.parquet [hyparquet] several row groups`, hy.md.row_groups.length >= 2, true);
    if (name === 'links') check('links.parquet rows = input rows', body.length, inputs);
  }
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'cases' && a) await cases(a);
else if (mode === 'link' && a && b) await link(a, b);
else {
  console.error('usage: node js_readers.mjs cases DIR | link RUN_DIR DATA_DIR');
  process.exit(2);
}
console.log(`js_readers (parquet-wasm, hyparquet) ${mode}: ${passes} checks passed, ${failures} failed`);
process.exit(failures ? 1 : 0);

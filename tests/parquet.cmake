# Parquet writer/reader tests (included from tests/CMakeLists.txt): the
# Criterion unit suite, outside readers (DuckDB, parquet-wasm, hyparquet)
# reading the files pq_cases and `tessera link` write, and evaluate's CLI.
tsr_criterion_test(unit_parquet unit/parquet_test.c)
set_tests_properties(unit_parquet PROPERTIES TIMEOUT 600)

add_executable(pq_cases interop/pq_cases.c)
target_include_directories(pq_cases PRIVATE ${PROJECT_SOURCE_DIR}/engine)
target_compile_options(pq_cases PRIVATE ${TSR_WARNINGS})
target_compile_definitions(pq_cases PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(pq_cases PRIVATE tessera)

# Three outside readers check what we write: DuckDB (parquet_interop.mjs,
# link_interop.mjs), and parquet-wasm (arrow-rs) and hyparquet (pure JS) in
# js_readers.mjs. The tests are always registered: node_run.sh fails them,
# naming the command to run, when node or a package in node_modules is
# missing, instead of leaving them out.
set(TSR_NODE_RUN bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/node_run.sh ${PROJECT_SOURCE_DIR})
set(TSR_INTEROP ${PROJECT_SOURCE_DIR}/tests/interop)

# every file pq_cases writes, read by DuckDB and by the two JS readers
foreach(reader duckdb js)
  set(dir pq_interop_${reader})
  if(reader STREQUAL "duckdb")
    set(name interop_parquet)
    set(script ${TSR_INTEROP}/parquet_interop.mjs ${CMAKE_CURRENT_BINARY_DIR}/${dir})
  else()
    set(name interop_parquet_js)
    set(script ${TSR_INTEROP}/js_readers.mjs cases ${CMAKE_CURRENT_BINARY_DIR}/${dir})
  endif()
  add_test(NAME ${name}
    COMMAND bash -c "set -e; rm -rf ${dir}; mkdir -p ${dir}; $<TARGET_FILE:pq_cases> ${dir} > /dev/null; $<JOIN:${TSR_NODE_RUN}, > $<JOIN:${script}, >")
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${TSR_TEST_ENV}" TIMEOUT 300)
endforeach()

# What `tessera link` writes (links.parquet, patients.parquet in several row
# groups), against the run's CSV copies and the inputs: DuckDB, then the JS
# readers.
foreach(reader duckdb js)
  set(dir lk_interop_${reader})
  if(reader STREQUAL "duckdb")
    set(name interop_link)
    set(script ${TSR_INTEROP}/link_interop.mjs ${CMAKE_CURRENT_BINARY_DIR}/${dir}/run ${CMAKE_CURRENT_BINARY_DIR}/${dir}/data)
  else()
    set(name interop_link_js)
    set(script ${TSR_INTEROP}/js_readers.mjs link ${CMAKE_CURRENT_BINARY_DIR}/${dir}/run ${CMAKE_CURRENT_BINARY_DIR}/${dir}/data)
  endif()
  add_test(NAME ${name}
    COMMAND bash -c "set -e; rm -rf ${dir}; mkdir -p ${dir}; $<TARGET_FILE:tessera-cli> generate --patients 8000 --seed 2 --out ${dir}/data --quiet; sed -i 's/\"row_group_rows\": 1048576/\"row_group_rows\": 4096/' ${dir}/data/link.json; $<TARGET_FILE:tessera-cli> link --config ${dir}/data/link.json --out ${dir}/run --csv --quiet; $<JOIN:${TSR_NODE_RUN}, > $<JOIN:${script}, >")
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${TSR_TEST_ENV}" TIMEOUT 300)
endforeach()

# tessera evaluate end to end (defects 8 and 9 of issue 8): kept here with
# the Parquet reader it drives; no node needed.
add_test(NAME evaluate_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/evaluate_cli.sh $<TARGET_FILE:tessera-cli>)
set_tests_properties(evaluate_cli PROPERTIES ENVIRONMENT "${TSR_TEST_ENV}" TIMEOUT 300)

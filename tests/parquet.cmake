# Parquet writer/reader tests (included from tests/CMakeLists.txt): the
# Criterion unit suite, and DuckDB reading the files pq_cases writes.
tsr_criterion_test(unit_parquet unit/parquet_test.c)
set_tests_properties(unit_parquet PROPERTIES TIMEOUT 600)

add_executable(pq_cases interop/pq_cases.c)
target_include_directories(pq_cases PRIVATE ${PROJECT_SOURCE_DIR}/engine)
target_compile_options(pq_cases PRIVATE ${TSR_WARNINGS})
target_compile_definitions(pq_cases PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(pq_cases PRIVATE tessera)

# The script imports @duckdb/node-api, which resolves from the repo's
# node_modules (ES modules search upward from the script; NODE_PATH is set
# for tools that use it).
find_program(TSR_NODE node)
if(TSR_NODE)
  add_test(NAME interop_parquet
    COMMAND bash -c "set -e; rm -rf pq_interop; mkdir -p pq_interop; $<TARGET_FILE:pq_cases> pq_interop; cd ${PROJECT_SOURCE_DIR} && NODE_PATH=${PROJECT_SOURCE_DIR}/node_modules ${TSR_NODE} tests/interop/parquet_interop.mjs ${CMAKE_CURRENT_BINARY_DIR}/pq_interop")
  set_tests_properties(interop_parquet PROPERTIES ENVIRONMENT "${TSR_TEST_ENV}" TIMEOUT 300)
else()
  message(STATUS "node not found: the Parquet interop test (DuckDB) is not registered")
endif()

# DuckDB reads what `tessera link` writes: links.parquet and patients.parquet
# against the run's CSV copies and the inputs (several row groups).
if(TSR_NODE)
  add_test(NAME interop_link
    COMMAND bash -c "set -e; rm -rf lk_interop; mkdir -p lk_interop; $<TARGET_FILE:tessera-cli> generate --patients 8000 --seed 2 --out lk_interop/data --quiet; sed -i 's/\"row_group_rows\": 1048576/\"row_group_rows\": 4096/' lk_interop/data/link.json; $<TARGET_FILE:tessera-cli> link --config lk_interop/data/link.json --out lk_interop/run --csv --quiet; cd ${PROJECT_SOURCE_DIR} && NODE_PATH=${PROJECT_SOURCE_DIR}/node_modules ${TSR_NODE} tests/interop/link_interop.mjs ${CMAKE_CURRENT_BINARY_DIR}/lk_interop/run ${CMAKE_CURRENT_BINARY_DIR}/lk_interop/data")
  set_tests_properties(interop_link PROPERTIES ENVIRONMENT "${TSR_TEST_ENV}" TIMEOUT 300)
endif()

# tessera evaluate end to end (defects 8 and 9 of issue 8): kept here with
# the Parquet reader it drives; no node needed.
add_test(NAME evaluate_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/evaluate_cli.sh $<TARGET_FILE:tessera-cli>)
set_tests_properties(evaluate_cli PROPERTIES ENVIRONMENT "${TSR_TEST_ENV}" TIMEOUT 300)

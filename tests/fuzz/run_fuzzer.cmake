# Bounded libFuzzer run: the committed corpus is copied to a scratch dir (new
# inputs the fuzzer finds stay out of the repo) and the run's figures are
# printed. Any crash fails the test; the reproducer is left in WORK.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
file(GLOB seeds ${CORPUS}/*)
file(COPY ${seeds} DESTINATION ${WORK}/corpus)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
          -artifact_prefix=${WORK}/ ${WORK}/corpus
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" execs "${err}")
string(REGEX MATCH "stat::new_units_added: *[0-9]+" added "${err}")
message(STATUS "fuzz ${FUZZER}: ${SECONDS} s, ${execs}, ${added}, exit code ${rc}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzzer found a crash (exit ${rc}); reproducer in ${WORK}\n${err}")
endif()

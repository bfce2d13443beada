# cmake -DVEEKSHA=<binary> -DOUT=<dir> -P vk_gen_docs.cmake
# Generates the installed shell completions and man pages by running the binary's hidden
# `completion` and `man` commands, so that they always describe the flags of that very binary
# (docs/INSTALL.md). Leak checking is off here: this is a build step, not a test.
set(ENV{ASAN_OPTIONS} "detect_leaks=0")
file(MAKE_DIRECTORY "${OUT}/completions" "${OUT}/man/man1")
foreach(shell bash zsh)
  if(shell STREQUAL "zsh")
    set(file "${OUT}/completions/_veeksha")
  else()
    set(file "${OUT}/completions/veeksha")
  endif()
  execute_process(COMMAND "${VEEKSHA}" completion ${shell} OUTPUT_FILE "${file}.tmp" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "'${VEEKSHA} completion ${shell}' failed (${rc})")
  endif()
  file(RENAME "${file}.tmp" "${file}")
endforeach()
# Pages of commands that no longer exist must not be installed: start from an empty directory.
file(REMOVE_RECURSE "${OUT}/man/man1")
execute_process(COMMAND "${VEEKSHA}" man --output-dir "${OUT}/man/man1" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "'${VEEKSHA} man --output-dir ${OUT}/man/man1' failed (${rc})")
endif()
# `veeksha completion|man` fail when a command's --help fails or prints nothing; check the result
# once more so that an empty file is never installed.
file(READ "${OUT}/completions/veeksha" text)
string(FIND "${text}" "complete -F _veeksha veeksha" at)
if(at EQUAL -1 OR NOT EXISTS "${OUT}/man/man1/veeksha.1" OR NOT EXISTS "${OUT}/man/man1/veeksha-benchmark.1")
  message(FATAL_ERROR "the generated completion or man pages under ${OUT} are incomplete")
endif()

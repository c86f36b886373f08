# sluice_add_worker(NAME SOURCES file.c ...)
#
# Builds a Sluice worker: an executable whose main() passes its compiled
# handler table to sluice_main() (see include/sluice/handler.h and
# docs/handlers.md). It links sluice::core and compiles with Sluice's
# warning flags (and the sanitizer flags when SLUICE_ASAN / SLUICE_UBSAN are
# on), so a team's handlers are held to the same standard as the engine.
#
#   sluice_add_worker(orders_worker SOURCES src/orders.c src/main.c)
#
# Works from Sluice's own tree and from a project that pulls Sluice in with
# add_subdirectory() or FetchContent: the flags are recorded here, as global
# properties, because Sluice's variables are not visible in the parent scope.

set_property(GLOBAL PROPERTY SLUICE_WORKER_COMPILE_OPTIONS ${SLUICE_WARNINGS}
                                                           ${SLUICE_SANITIZE_FLAGS})

function(sluice_add_worker name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES")
  if(NOT name OR name MATCHES "^SOURCES$")
    message(FATAL_ERROR "sluice_add_worker: usage: sluice_add_worker(NAME SOURCES file.c ...)")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sluice_add_worker(${name}): no SOURCES given; list the .c files that "
                        "hold the handler table and the main() that passes it to sluice_main()")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sluice_add_worker(${name}): unexpected arguments "
                        "\"${ARG_UNPARSED_ARGUMENTS}\"; put every source file after SOURCES")
  endif()
  if(NOT TARGET sluice::core)
    message(FATAL_ERROR "sluice_add_worker(${name}): sluice::core is not defined; "
                        "add_subdirectory() Sluice before calling it")
  endif()
  get_property(options GLOBAL PROPERTY SLUICE_WORKER_COMPILE_OPTIONS)
  add_executable(${name} ${ARG_SOURCES})
  # sluice::core carries the include directory, the libraries (librdkafka,
  # libpq, jansson...) and the sanitizer link flags.
  target_link_libraries(${name} PRIVATE sluice::core)
  target_compile_options(${name} PRIVATE ${options})
endfunction()

include(GoogleTest)

# ebb_add_test(NAME SOURCES a.cc b.cc LIBS ebb::x ... [LABELS unit|integration])
# One gtest binary; its tests are discovered for ctest.
function(ebb_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${T_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()

# ebb_module(NAME SOURCES ... DEPS ...): one library per module; DEPS lists
# exactly the modules and libraries it may use, so a wrong-way include fails
# to link (and, with the include root shared, is caught in review).
function(ebb_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ebb_${name} STATIC ${M_SOURCES})
  add_library(ebb::${name} ALIAS ebb_${name})
  target_include_directories(ebb_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ebb_${name} PUBLIC ${M_DEPS})
endfunction()

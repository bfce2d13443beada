# vk_module(NAME DEPS...) - static library from src/NAME/*.c
function(vk_module name)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.c)
  add_library(vk_${name} STATIC ${srcs})
  target_include_directories(vk_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(vk_${name} PUBLIC ${ARGN})
endfunction()

# vk_unit_test(NAME SOURCE DEPS...) - cmocka test registered in CTest
function(vk_unit_test name src)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${ARGN} m)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "VK_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 120)
endfunction()

# Apache Arrow C++ from the pyarrow wheel (DESIGN.md decision 2).
# Links the wheel's versioned shared libraries by full path, so build and run time use the
# very same libarrow; fails at configure time if the installed pyarrow is not the pinned one.
set(CAIRN_PYARROW_VERSION "26.0.1")
find_package(Threads REQUIRED)
execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
    "import pyarrow as pa; print(pa.__version__); print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__.split('.')[0] + '00')"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow ${CAIRN_PYARROW_VERSION} is needed to build cairn: pip install pyarrow==${CAIRN_PYARROW_VERSION}")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 _pa_version)
list(GET _pa_lines 1 ARROW_INCLUDE_DIR)
list(GET _pa_lines 2 ARROW_LIB_DIR)
list(GET _pa_lines 3 ARROW_SO_VERSION)
if(NOT _pa_version VERSION_EQUAL CAIRN_PYARROW_VERSION)
  message(FATAL_ERROR "cairn is pinned to pyarrow ${CAIRN_PYARROW_VERSION} but found ${_pa_version}: pip install pyarrow==${CAIRN_PYARROW_VERSION}")
endif()
message(STATUS "Arrow C++ from pyarrow ${_pa_version}: ${ARROW_LIB_DIR}")

add_library(cairn::arrow INTERFACE IMPORTED)
target_include_directories(cairn::arrow SYSTEM INTERFACE "${ARROW_INCLUDE_DIR}")
target_link_libraries(cairn::arrow INTERFACE
  "${ARROW_LIB_DIR}/libarrow.so.${ARROW_SO_VERSION}"
  "${ARROW_LIB_DIR}/libarrow_compute.so.${ARROW_SO_VERSION}"
  "${ARROW_LIB_DIR}/libarrow_s3.so.${ARROW_SO_VERSION}")
# Arrow headers are built with the C++11 ABI in the manylinux_2_28 wheels; match it.
target_compile_definitions(cairn::arrow INTERFACE _GLIBCXX_USE_CXX11_ABI=1)

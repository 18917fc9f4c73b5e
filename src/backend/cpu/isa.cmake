# Per-file ISA flags of kiln_backend_cpu. These files are only entered after
# run-time detection (matmul.cpp: cpu_isa_supported), so the rest of the
# library stays baseline x86-64.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/matmul_avx2.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-ffp-contract=off")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/attention_f16acc_avx2.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-ffp-contract=off")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/matmul_avx512.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/packed_avx512.cpp ${CMAKE_CURRENT_SOURCE_DIR}/ops_avx512.cpp
    PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni;-ffp-contract=off")
endif()

# quicreuse_warnings(target): strict warnings on our own targets only; dependencies are SYSTEM.
function(quicreuse_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wimplicit-fallthrough -Wconversion -Wsign-conversion)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 misreports asio's coroutine frame allocator (awaitable_frame_base::operator delete)
    # as a mismatched new/delete pair.
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND QUICREUSE_SANITIZE MATCHES "thread")
    # GCC 12 warns about asio's atomic_thread_fence under TSan (style.md 2.8).
    target_compile_options(${target} PRIVATE -Wno-tsan)
  endif()
  if(QUICREUSE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

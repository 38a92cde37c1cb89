// Hands the allocator's free pages back to the system. ORT allocates and frees each layer's
// activations and, at load, each session's parsed model; glibc keeps what was freed inside its
// heap (fragmented between live blocks), so resident memory grows by hundreds of MB that are
// free. malloc_trim returns every free page, not only the heap's top (glibc >= 2.8).
// Other C libraries (macOS, Windows, musl) release differently: there it does nothing.
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// releaseFreeMemory(): true where the allocator was asked to return its free pages.
napi_value release_free_memory(napi_env env, napi_callback_info info) {
  (void)info;
  bool done = false;
#if defined(__GLIBC__)
  malloc_trim(0);
  done = true;
#endif
  napi_value r;
  napi_get_boolean(env, done, &r);
  return r;
}

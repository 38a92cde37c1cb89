// The two pthread calls native/*.c make, over Win32 threads, for the Windows cross builds of
// scripts/package.mjs (zig's MinGW ships no winpthreads). Found before any system pthread.h
// because the build puts this folder first on the include path.
#ifndef SIMBA_WIN32_PTHREAD_H
#define SIMBA_WIN32_PTHREAD_H
#include <stdlib.h>

// Declared by hand rather than through windows.h, whose macros (min, max, near, far…) would
// leak into the kernel's code.
__declspec(dllimport) void *__stdcall CreateThread(void *, size_t, unsigned long(__stdcall *)(void *), void *,
                                                   unsigned long, unsigned long *);
__declspec(dllimport) unsigned long __stdcall WaitForSingleObject(void *, unsigned long);
__declspec(dllimport) int __stdcall CloseHandle(void *);

typedef void *pthread_t;
typedef struct pthread_attr pthread_attr_t;

typedef struct {
  void *(*fn)(void *);
  void *arg;
} simba_thread_start;

static unsigned long __stdcall simba_thread_main(void *p) {
  simba_thread_start s = *(simba_thread_start *)p;
  free(p);
  s.fn(s.arg);
  return 0;
}

static inline int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  (void)attr;
  simba_thread_start *s = malloc(sizeof *s);
  if (!s) return 11;  // EAGAIN: the caller runs the job itself
  s->fn = fn, s->arg = arg;
  *t = CreateThread(NULL, 0, simba_thread_main, s, 0, NULL);
  if (!*t) {
    free(s);
    return 11;
  }
  return 0;
}

static inline int pthread_join(pthread_t t, void **ret) {
  if (ret) *ret = NULL;  // no caller reads the threads' return values
  WaitForSingleObject(t, 0xFFFFFFFFul);  // INFINITE
  CloseHandle(t);
  return 0;
}
#endif

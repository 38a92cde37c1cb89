// Forced into the linux-x64 kernel's build by scripts/package.mjs (gcc -include): bind the libc
// symbols the kernel uses to their oldest x86-64 versions, so a kernel built against this
// machine's glibc (2.36: pthread_create@GLIBC_2.34, exp@GLIBC_2.29) also loads on the glibc 2.28
// that VS Code requires. test/packaging checks the result with readelf.
#if defined(__x86_64__) && defined(__linux__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver exp,exp@GLIBC_2.2.5");
__asm__(".symver log,log@GLIBC_2.2.5");
__asm__(".symver pow,pow@GLIBC_2.2.5");
#endif

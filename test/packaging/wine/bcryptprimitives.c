// For test/packaging/win32.sh only, never packaged: wine 8 has no bcryptprimitives.dll, which
// Windows 10 and later have and the tokenizers binary (Rust's std) imports for ProcessPrng. This
// stand-in gives the same random bytes through advapi32's RtlGenRandom (SystemFunction036).
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len) {
    ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!SystemFunction036(data, n)) return FALSE;
    data += n, len -= n;
  }
  return TRUE;
}

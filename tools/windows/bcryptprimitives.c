/*
 * A stand-in for Windows' bcryptprimitives.dll, for running flowc.exe under
 * wine 8 only.
 *
 * Rust's standard library asks bcryptprimitives.dll for ProcessPrng (the
 * system's random generator, used to seed hash maps). Wine 8 does not have
 * that export, so a Windows build of flowc stops before main. This DLL
 * exports ProcessPrng and forwards to RtlGenRandom (SystemFunction036 in
 * advapi32), which wine does have. Only the wine tests place it next to
 * flowc.exe; it is never shipped, since real Windows has the export.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG piece = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, piece)) {
            return FALSE;
        }
        data += piece;
        length -= piece;
    }
    return TRUE;
}

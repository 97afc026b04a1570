// Linked into the test programs of a TSan build only (tests/CMakeLists.txt).
//
// Qt 6.4's QProcess starts a child with forkfd's vforkfd: glibc's clone() with CLONE_VM | CLONE_VFORK, so the child
// runs in the parent's memory until it execs. GCC 12's TSan intercepts clone() and, in the child, marks the runtime
// as "forked from a multi-threaded process" and turns off its checks for the calling thread. With CLONE_VM that
// runtime is the parent's: after one QProcess start while a second thread is alive, the test program's own thread is
// no longer checked and its next std::thread dies with "starting new threads after multi-threaded fork is not
// supported". TSan turns a plain vfork() into fork() for the same reason, and Qt 6.5 stops using vfork under a
// sanitizer; here a clone() that shares memory but is not a thread is made a fork-like clone, so the child gets a
// copy of the runtime to mark and the parent stays checked. Nothing else changes: the child still only execs.
#include <dlfcn.h>
#include <linux/sched.h>
#include <sys/types.h>

#include <cstdarg>

extern "C" int clone(int (*fn)(void*), void* stack, int flags, void* arg, ...)
{
    // The optional arguments, read as glibc's clone() reads them (it uses them only where flags ask).
    va_list more;
    va_start(more, arg);
    pid_t* parentTid = va_arg(more, pid_t*);
    void* tls = va_arg(more, void*);
    pid_t* childTid = va_arg(more, pid_t*);
    va_end(more);
    using Clone = int (*)(int (*)(void*), void*, int, void*, ...);
    // TSan's interceptor, which calls glibc's clone().
    static const auto next = reinterpret_cast<Clone>(dlsym(RTLD_NEXT, "clone"));
    if ((flags & CLONE_VM) && !(flags & CLONE_THREAD)) flags &= ~CLONE_VM;
    return next(fn, stack, flags, arg, parentTid, tls, childTid);
}

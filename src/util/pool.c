/* Work on libuv's thread pool (balkon/pool.h). */
#include "balkon/pool.h"

#include "balkon/log.h"

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POOL_THREAD_NICE 5

void balkon_pool_thread_lower_priority(void)
{
    static _Thread_local bool lowered;
    if (lowered)
        return;
    lowered = true;
    /* On Linux nice is per thread (each thread is a task of its own), so this leaves the
     * loop thread as it was. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_THREAD_NICE) != 0)
        log_debug("pool", "cannot lower the priority of a pool thread");
}

/* Work on libuv's thread pool: what every job that runs there does first. */
#ifndef BALKON_POOL_H
#define BALKON_POOL_H

/* Lowers the calling pool thread's priority (nice 5), once per thread. On a 2-core Pi a
 * few busy jobs (a year of history read, a plan solved) must not take the CPU from the
 * loop thread, which runs the battery's control. */
void balkon_pool_thread_lower_priority(void);

#endif

/* Must not compile (tests/CMakeLists.txt, "Layers"): a module may not include another
 * module's header (notify → the daemon's list of modules). */
#include "balkon/daemon.h"

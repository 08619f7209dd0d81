/* Must not compile (tests/CMakeLists.txt, "Layers"): a registry, below core, may not
 * include the bus. */
#include "balkon/bus.h"

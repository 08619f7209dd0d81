/* Must not compile (tests/CMakeLists.txt, "Layers"): core may not include a module's
 * header. */
#include "balkon/loads.h"

/* Compiled with balkon_core's include path (tests/CMakeLists.txt, "Layers"): core sees its
 * own headers and those of everything below it. */
#include "balkon/bus.h"
#include "balkon/channel.h"
#include "balkon/config.h"
#include "balkon/driver.h"
#include "balkon/log.h"
#include "balkon/optimizer.h"
#include "balkon/provider.h"
#include "balkon/sim.h"
#include "balkon/store.h"

int layers_probe_core(void);
int layers_probe_core(void)
{
    return DEVICE_ROLE_COUNT;
}

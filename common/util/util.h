/* util.h — the util/ layer of common/ (docs/LAYERS.md): program support: messages and
 * option values (log.h), output options (cli.h), threads, signals, MPI (dist.h), capped
 * warnings (warncap.h), the filter-program record loop (filterloop.h), counter-based RNG
 * (rng.h), string lists (strlist.h), version.
 * Includes every module header of the layer. */
#ifndef LGP_UTIL_LAYER_H
#define LGP_UTIL_LAYER_H

#include "common/util/cli.h"
#include "common/util/dist.h"
#include "common/util/filterloop.h"
#include "common/util/log.h"
#include "common/util/rng.h"
#include "common/util/signals.h"
#include "common/util/strlist.h"
#include "common/util/threads.h"
#include "common/util/warncap.h"

#endif

// dgeval: batch evaluation of delegation games (docs/MATH.md). Umbrella header.
#pragma once

#include "dgeval/backend.hpp"
#include "dgeval/compare.hpp"
#include "dgeval/error.hpp"
#include "dgeval/examples.hpp"
#include "dgeval/format.hpp"
#include "dgeval/game.hpp"
#include "dgeval/generate.hpp"
#include "dgeval/io.hpp"
#include "dgeval/options.hpp"
#include "dgeval/output.hpp"
#include "dgeval/results.hpp"
#include "dgeval/tolerances.hpp"
#include "dgeval/version.hpp"

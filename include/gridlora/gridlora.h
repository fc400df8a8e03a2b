/* gridlora/gridlora.h: the whole public API in one include, and the version.
 * gridlora: zero-shot dynamic-concept video personalization with grid-based LoRA
 * (Abdal et al. 2025, arXiv 2507.17963), a C library on OpenBLAS and OpenMP. */
#ifndef GRIDLORA_H
#define GRIDLORA_H

#define GL_VERSION "0.1.0"

#include "gridlora/apps.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/dist.h"
#include "gridlora/eval.h"
#include "gridlora/grid.h"
#include "gridlora/grids.h"
#include "gridlora/half.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/nn.h"
#include "gridlora/probe.h"
#include "gridlora/render.h"
#include "gridlora/safetensors.h"
#include "gridlora/sample.h"
#include "gridlora/selfcheck.h"
#include "gridlora/tokenizer.h"
#include "gridlora/train.h"
#include "gridlora/ttft.h"
#include "gridlora/video.h"

#endif

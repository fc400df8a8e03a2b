/* pipeline/eval_common.h (internal): what the evaluation's runs share (eval_run.c, the
 * zero-shot comparison; eval_multidc.c, the Multi-DC regeneration). */
#ifndef GL_PIPELINE_EVAL_COMMON_H
#define GL_PIPELINE_EVAL_COMMON_H

#include <math.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "gridlora/model.h"
#include "gridlora/sample.h"
#include "gridlora/tokenizer.h"
#include "gridlora/video.h"

/* One cell of the model (frames x cell_h x cell_w, values in [0, 1], out allocated here)
 * sampled from a prompt alone with whatever adapters m has attached; the prompt is cut to
 * the model's text length as captions are in training (data.h). Errors: the tokenizer's
 * (msg names the prompt), gl_sample's, GL_ENOMEM. */
int gl__eval_generate(gl_dit *m, const gl_tokenizer *tk, const gl_sample_opts *so, const char *prompt,
                      gl_video *out, char *msg, size_t msglen);

/* o[key] = v, or null for a non-finite v (JSON has no NaN); *ok cleared when cJSON fails. */
static inline void gl__eval_json_num(cJSON *o, const char *key, double v, int *ok) {
    *ok &= (isfinite(v) ? cJSON_AddNumberToObject(o, key, v) : cJSON_AddNullToObject(o, key)) != NULL;
}

#endif

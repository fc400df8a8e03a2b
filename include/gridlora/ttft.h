/* gridlora/ttft.h: test-time fine-tuning (TTFT), the baseline zero-shot personalization
 * replaces (METHOD.md, "The problem"): a Multi-DC adapter with one concept, trained on one
 * video in the two Set-and-Sequence stages (multidc.h), after which "a <v> ... with smoke"
 * edits that video. `gridlora finetune` and `gridlora eval` both run it.
 *
 *     gl_multidc *d = NULL;
 *     gl_multidc_clip(&d, &video, "<v>", "a <v> red striped star orbiting on sand",
 *                     gl_dit_cfg(m), msg, sizeof msg);
 *     gl_ttft_opts o = gl_ttft_default_opts();            // 200 + 200 steps, rank 8
 *     gl_lora *l = NULL;
 *     gl_ttft_train(m, d, &o, &l, NULL, msg, sizeof msg);
 *     gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg);    // then sample "a <v> ... at night"
 *     ...
 *     gl_dit_detach_loras(m);
 *     gl_lora_free(&l);
 *     gl_multidc_free(&d);
 *
 * Thread safety: one run at a time per model. Nothing keeps a pointer to the arguments.
 */
#ifndef GRIDLORA_TTFT_H
#define GRIDLORA_TTFT_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_ttft_opts {
    int64_t set_steps, seq_steps; /* steps of the Set and the Sequence stage */
    gl_lora_spec spec;            /* rank, alpha, targets; motion and tokens are set here */
    gl_train_opts train;          /* batch, seed, lr, ...: params, steps, warm-up (capped
                                     at a tenth of a stage) are set per stage */
    /* Optional hooks around each stage (GL_MULTIDC_SET, then GL_MULTIDC_SEQUENCE).
     * before_stage may set o's checkpoint, log, resume and progress fields, and returns
     * 0 to run the stage, 1 to skip it, or a negative GL_E* to stop (its message in msg).
     * after_stage sees the stage's result. */
    int (*before_stage)(void *ctx, int stage, const gl_lora *l, gl_train_opts *o, char *msg,
                        size_t msglen);
    void (*after_stage)(void *ctx, int stage, const gl_train_result *res);
    void *hook_ctx;
} gl_ttft_opts;

/* What `gridlora finetune` uses by default: 200 steps per stage, rank 8, alpha 8, every
 * default target, gl_train_default_opts with lr 1e-3 (adapters learn faster than a model
 * from scratch), batch 4, seed 1; no hooks. */
gl_ttft_opts gl_ttft_default_opts(void);

/* Trains a new adapter for d's concepts on model m: m's parameters frozen (their flags
 * are restored on return), a Multi-DC adapter (o->spec with a motion branch and d's
 * tokens) made from o->train.seed and attached after any adapter already on m, then the
 * Set stage (A, B and the token rows, on still frames) and the Sequence stage (B2, on the
 * clips). On success *out is the adapter (the caller frees it with gl_lora_free) and
 * *seconds (may be NULL) the time spent in the two stages. On return m has no adapter
 * attached, whatever the result. GL_EINVAL (a bad spec), gl_train_run's errors, GL_ENOMEM;
 * msg names the stage that failed. On failure *out is NULL. */
int gl_ttft_train(gl_dit *m, gl_multidc *d, const gl_ttft_opts *o, gl_lora **out,
                  double *seconds, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif

/* pipeline/ttft.c: test-time fine-tuning: the Set and Sequence stages of a one-concept
 * Multi-DC adapter, run with train.c's loop on multidc.c's data. Writes no files (a
 * caller's hook may ask for checkpoints and logs) and prints nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "gridlora/core.h"
#include "gridlora/ttft.h"

#define SAY(rc, ...) (snprintf(msg, msglen, __VA_ARGS__), (rc))

gl_ttft_opts gl_ttft_default_opts(void) {
    gl_ttft_opts o = {.set_steps = 200, .seq_steps = 200, .spec = gl_lora_default_spec(),
                      .train = gl_train_default_opts()};
    o.train.lr = 1e-3f;
    return o;
}

int gl_ttft_train(gl_dit *m, gl_multidc *d, const gl_ttft_opts *o, gl_lora **out, double *seconds,
                  char *msg, size_t msglen) {
    static const char *const stage_name[2] = {"set", "sequence"};
    *out = NULL;
    if (seconds) *seconds = 0;
    gl_params *mp = gl_dit_params(m);
    const int np = gl_params_count(mp);
    gl_lora *l = NULL;
    int *flags = malloc((size_t)(np > 0 ? np : 1) * sizeof *flags);
    if (!flags) {
        gl_dit_detach_loras(m);
        return SAY(GL_ENOMEM, "ttft: out of memory");
    }
    /* frozen base: only the activations' gradients flow through it (METHOD.md stage 1) */
    for (int i = 0; i < np; i++) {
        flags[i] = gl_params_flags(mp, i);
        gl_params_set_flags(mp, i, flags[i] | GL_PARAM_FROZEN);
    }
    gl_lora_spec spec = o->spec;
    spec.motion = 1;
    spec.n_tokens = gl_multidc_tokens(d, &spec.tokens);
    int rc = gl_lora_new(&l, m, &spec, o->train.seed, msg, msglen);
    if (!rc) rc = gl_dit_attach_lora(m, l, 1.0f, msg, msglen);
    for (int k = 0; k < 2 && !rc; k++) {
        const int stage = k == 0 ? GL_MULTIDC_SET : GL_MULTIDC_SEQUENCE;
        /* the stage first: a hook that counts the trainable parameters sees this stage's */
        gl_multidc_set_mode(d, stage);
        gl_lora_set_stage(l, stage);
        gl_train_opts t = o->train;
        t.params = gl_lora_params(l);
        t.steps = k == 0 ? o->set_steps : o->seq_steps;
        t.warmup = t.steps / 10 < t.warmup ? t.steps / 10 : t.warmup;
        if (o->before_stage) {
            int go = o->before_stage(o->hook_ctx, stage, l, &t, msg, msglen);
            if (go < 0) {
                rc = go;
                break;
            }
            if (go > 0) continue;
        }
        gl_train_result res;
        char why[768];
        if ((rc = gl_train_run(m, &t, gl_multidc_next, d, &res, why, sizeof why))) {
            snprintf(msg, msglen, "%s stage: %s", stage_name[k], why);
            break;
        }
        if (seconds) *seconds += res.seconds;
        if (o->after_stage) o->after_stage(o->hook_ctx, stage, &res);
    }
    gl_dit_detach_loras(m);
    for (int i = 0; i < np; i++) gl_params_set_flags(mp, i, flags[i]);
    free(flags);
    if (rc) gl_lora_free(&l);
    *out = l;
    return rc;
}

/* model/dit_io.c: a DiT to and from a safetensors file, its configuration in the
 * metadata, so a weights file is all it takes to rebuild the model. */
#include <stdio.h>
#include <stdlib.h>

#include "gridlora/model.h"
#include "gridlora/safetensors.h"

int gl_dit_save(const gl_dit *m, const char *path, int dtype, char *msg, size_t msglen) {
    char *cfg = gl_dit_config_to_json(gl_dit_cfg(m));
    if (!cfg) {
        snprintf(msg, msglen, "%s: out of memory", path);
        return GL_ENOMEM;
    }
    const char *meta[] = {GL_DIT_CONFIG_KEY, cfg, "format", "gridlora-dit", NULL};
    int rc = gl_st_save_params(gl_dit_params((gl_dit *)m), path, (gl_st_dtype)dtype, meta, msg, msglen);
    free(cfg);
    return rc;
}

int gl_dit_load(gl_dit **out, const char *path, char *msg, size_t msglen) {
    *out = NULL;
    gl_st *st = NULL;
    gl_dit *m = NULL;
    int rc = gl_st_open(&st, path, msg, msglen);
    if (rc) return rc;
    const char *js = gl_st_meta_get(st, GL_DIT_CONFIG_KEY);
    gl_dit_config cfg;
    char why[256];
    if (!js) {
        snprintf(msg, msglen, "%s: not a gridlora model (no '%s' in its metadata)", path, GL_DIT_CONFIG_KEY);
        rc = GL_EFORMAT;
    } else if (gl_dit_config_from_json(js, &cfg, why, sizeof why)) {
        snprintf(msg, msglen, "%s: %s", path, why);
        rc = GL_EFORMAT;
    } else if ((rc = gl_dit_new(&m, &cfg, why, sizeof why))) {
        snprintf(msg, msglen, "%s: %s", path, why);
    }
    if (rc == GL_OK) rc = gl_st_load_params(gl_dit_params(m), path, 1, msg, msglen);
    /* A training checkpoint holds the raw weights and, when its run kept one, their EMA,
     * which is what the run's OUT gets: a preview from a checkpoint shows the model the
     * run would ship, not the noisier raw weights. */
    if (rc >= 0 && gl_st_meta_get(st, "train.step") && gl_params_count(gl_dit_params(m)) > 0) {
        char first[300];
        snprintf(first, sizeof first, "ema.%s", gl_params_name(gl_dit_params(m), 0));
        if (gl_st_find(st, first) >= 0)
            rc = gl_st_load_params_prefixed(gl_dit_params(m), path, "ema.", 1, msg, msglen);
    }
    gl_st_free(&st);
    if (rc < 0) {
        gl_dit_free(&m);
        return rc;
    }
    *out = m;
    return GL_OK;
}

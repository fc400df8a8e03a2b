/* pipeline/probe.c: how far a base model has learnt the domain, on held-out rendered
 * concepts (probe.h): its denoising error per noise level, and whether its samples follow
 * their captions. It measures a trained model and changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/data.h"
#include "gridlora/eval.h"
#include "gridlora/probe.h"
#include "gridlora/render.h"
#include "gridlora/tokenizer.h"
#include "gridlora/video.h"

int gl_probe_denoise(gl_dit *m, const double *t, int n_t, int n_concepts, uint64_t seed, double scale, double *mse,
                     double *mse_xt, double *mse_fg, char *msg, size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = c->frames, H = c->cell_h, W = c->cell_w, n = F * H * W * c->channels;
    const int64_t T = (F / c->patch_t) * (H / c->patch_h) * (W / c->patch_w), L = c->text_len;
    if (n_t < 1 || n_concepts < 1 || c->channels != 3) {
        snprintf(msg, msglen, "probe: need at least one noise level and one concept (RGB models only)");
        return GL_EINVAL;
    }
    float *x0 = malloc((size_t)n * sizeof(float)), *e = malloc((size_t)n * sizeof(float));
    float *xt = malloc((size_t)n * sizeof(float)), *v = malloc((size_t)n * sizeof(float));
    float *tt = malloc((size_t)T * sizeof(float)), *alpha = malloc((size_t)(F * H * W) * sizeof(float));
    int32_t *text = calloc((size_t)L, sizeof(int32_t)), len = 0;
    gl_tokenizer *tk = NULL;
    gl_arena *arena = NULL;
    gl_video vid = {0};
    int rc = gl_arena_new(&arena, gl_dit_arena_bytes(m, 1, F, H, W));
    if (rc || !x0 || !e || !xt || !v || !tt || !text || !alpha) {
        snprintf(msg, msglen, "probe: out of memory");
        rc = GL_ENOMEM;
        goto end;
    }
    if ((rc = gl_domain_tokenizer(c, &tk, msg, msglen))) goto end;
    for (int k = 0; k < n_t; k++) {
        mse[k] = 0;
        if (mse_xt) mse_xt[k] = 0;
        if (mse_fg) mse_fg[k] = 0;
    }
    gl_render_opts ro = gl_render_default_opts();
    ro.frames = F;
    ro.height = H;
    ro.width = W;
    for (int i = 0; i < n_concepts; i++) {
        gl_concept con;
        gl_scene scene;
        char cap[GL_CAPTION_MAX];
        int64_t nt = 0;
        if ((rc = gl_concept_sample(&con, seed + (uint64_t)i, GL_SPLIT_HELDOUT)) ||
            (rc = gl_concept_scale(&con, scale)) ||
            (rc = gl_scene_from_variant(&scene, &con, NULL, GL_VARIANT_PLAIN)) ||
            (rc = gl_render_scene(&scene, &ro, &vid, alpha)) ||
            (rc = gl_variant_caption(&con, NULL, GL_VARIANT_PLAIN, NULL, cap, sizeof cap))) {
            snprintf(msg, msglen, "probe: cannot render held-out concept %d: %s", i, gl_strerror(rc));
            goto end;
        }
        if ((rc = gl_tokenize(tk, cap, text, L, &nt, msg, msglen))) goto end;
        len = (int32_t)nt;
        gl_rng r;
        gl_rng_seed(&r, seed * 7919u + (uint64_t)i);
        for (int64_t j = 0; j < n; j++) {
            x0[j] = 2.0f * vid.rgb[j] - 1.0f;
            e[j] = (float)gl_rng_normal(&r);
        }
        gl_video_release(&vid);
        for (int k = 0; k < n_t; k++) {
            float tk_ = (float)t[k];
            for (int64_t j = 0; j < n; j++) xt[j] = (1.0f - tk_) * x0[j] + tk_ * e[j];
            for (int64_t j = 0; j < T; j++) tt[j] = tk_;
            gl_dit_batch b = {.B = 1, .F = F, .H = H, .W = W, .x = xt, .t = tt, .text = text, .text_lens = &len};
            gl_arena_reset(arena);
            if ((rc = gl_dit_forward(m, arena, &b, v, msg, msglen))) goto end;
            double s = 0, sx = 0, sf = 0;
            int64_t nf = 0;
            for (int64_t j = 0; j < n; j++) {
                double d = (double)xt[j] - t[k] * v[j] - x0[j], dx = (double)xt[j] - x0[j];
                s += d * d;
                sx += dx * dx;
                if (alpha[j / 3] >= 0.5f) {
                    sf += d * d;
                    nf++;
                }
            }
            mse[k] += s / (double)n / n_concepts;
            if (mse_xt) mse_xt[k] += sx / (double)n / n_concepts;
            if (mse_fg) mse_fg[k] += (nf ? sf / (double)nf : 0.0) / n_concepts;
        }
    }
end:
    gl_video_release(&vid);
    free(x0); free(e); free(xt); free(v); free(tt); free(text); free(alpha);
    gl_tokenizer_free(&tk);
    gl_arena_free(&arena);
    return rc;
}

/* ---- captions -------------------------------------------------------------------- */

int gl_probe_captions(gl_dit *m, int n_concepts, uint64_t seed, double scale, const gl_sample_opts *so,
                      gl_probe_caption_row *rows, gl_probe_caption_row *means, char *msg, size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = c->frames, H = c->cell_h, W = c->cell_w, n = F * H * W * 3, L = c->text_len;
    if (n_concepts < 1 || c->channels != 3 || !so || !means) {
        snprintf(msg, msglen, "probe: need at least one concept, sampling options and an RGB model");
        return GL_EINVAL;
    }
    memset(means, 0, sizeof *means);
    float *out = malloc((size_t)n * sizeof(float)), *fg = malloc((size_t)(F * H * W) * sizeof(float));
    int32_t *text = calloc((size_t)L, sizeof(int32_t));
    gl_tokenizer *tk = NULL;
    gl_video truth = {0}, gen = {0};
    int rc = GL_ENOMEM;
    if (!out || !fg || !text || gl_video_alloc(&gen, F, H, W)) {
        snprintf(msg, msglen, "probe: out of memory");
        goto end;
    }
    if ((rc = gl_domain_tokenizer(c, &tk, msg, msglen))) goto end;
    gl_render_opts ro = gl_render_default_opts();
    ro.frames = F;
    ro.height = H;
    ro.width = W;
    for (int i = 0; i < n_concepts; i++) {
        gl_concept con;
        gl_probe_caption_row row;
        int64_t nt = 0;
        memset(&row, 0, sizeof row);
        if ((rc = gl_concept_sample(&con, seed + (uint64_t)i, GL_SPLIT_HELDOUT)) ||
            (rc = gl_concept_scale(&con, scale)) ||
            (rc = gl_render_concept(&con, &ro, &truth)) ||
            (rc = gl_variant_caption(&con, NULL, GL_VARIANT_PLAIN, NULL, row.caption, sizeof row.caption))) {
            snprintf(msg, msglen, "probe: cannot render held-out concept %d: %s", i, gl_strerror(rc));
            goto end;
        }
        memset(text, 0, (size_t)L * sizeof *text);
        if ((rc = gl_tokenize(tk, row.caption, text, L, &nt, msg, msglen))) goto end;
        gl_sample_opts o = *so;
        o.seed = so->seed + (uint64_t)i;
        gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = (int32_t)nt};
        if ((rc = gl_sample(m, &o, &req, out, msg, msglen))) goto end;
        for (int64_t j = 0; j < n; j++) gen.rgb[j] = 0.5f * (out[j] + 1.0f);
        if ((rc = gl_eval_caption_figures(&gen, con.colours[0], fg, &row.colour_share, &row.present, &row.travel,
                                  &row.area)) ||
            (rc = gl_eval_caption_figures(&truth, con.colours[0], fg, &row.colour_share_truth, &row.present_truth,
                                  &row.travel_truth, &row.area_truth))) {
            snprintf(msg, msglen, "probe: cannot measure '%s': %s", row.caption, gl_strerror(rc));
            goto end;
        }
        int64_t n_shape;
        if ((rc = gl_eval_shape_figures(fg, F, H, W, con.shape, &row.shape_hit_truth, &row.shape_iou_truth,
                                        &n_shape)) ||
            (rc = gl_eval_caption_figures(&gen, con.colours[0], fg, &row.colour_share, &row.present, &row.travel,
                                          &row.area)) ||
            (rc = gl_eval_shape_figures(fg, F, H, W, con.shape, &row.shape_hit, &row.shape_iou, &n_shape))) {
            snprintf(msg, msglen, "probe: cannot measure the shape in '%s': %s", row.caption, gl_strerror(rc));
            goto end;
        }
        gl_video_release(&truth);
        if (rows) rows[i] = row;
        means->colour_share += row.colour_share / n_concepts;
        means->colour_share_truth += row.colour_share_truth / n_concepts;
        means->present += row.present / n_concepts;
        means->present_truth += row.present_truth / n_concepts;
        means->travel += row.travel / n_concepts;
        means->travel_truth += row.travel_truth / n_concepts;
        means->area += row.area / n_concepts;
        means->area_truth += row.area_truth / n_concepts;
        means->shape_hit += row.shape_hit / n_concepts;
        means->shape_hit_truth += row.shape_hit_truth / n_concepts;
        means->shape_iou += row.shape_iou / n_concepts;
        means->shape_iou_truth += row.shape_iou_truth / n_concepts;
    }
    rc = GL_OK;
end:
    gl_video_release(&truth);
    gl_video_release(&gen);
    free(out); free(fg); free(text);
    gl_tokenizer_free(&tk);
    return rc;
}

/* gridlora/model.h: the video diffusion transformer (DiT) and its configuration.
 *
 * A pixel-space video DiT shaped like Wan-class models: 3D patches, 3D RoPE over the
 * whole canvas, a per-token timestep embedding driving AdaLN-zero in every block,
 * self-attention (QK RMS-norm, RoPE, optional mask), cross-attention to a small text
 * transformer's tokens (optional mask), GELU MLP, final modulated norm and linear.
 * Sizes are configuration (gl_dit_config), stored with the weights; nothing here
 * assumes a preset.
 *
 *     gl_dit_config cfg;
 *     gl_dit_config_preset("tiny", &cfg);
 *     gl_dit *m = NULL;
 *     gl_dit_new(&m, &cfg, msg, sizeof msg);
 *     gl_dit_init_weights(m, seed);
 *     gl_arena *a = NULL;
 *     gl_arena_new(&a, gl_dit_arena_bytes(m, &dims));
 *     gl_dit_forward(m, a, &batch, v_pred);     // caches activations in a
 *     gl_dit_backward(m, a, dv_pred);           // accumulates into gl_dit_params(m) grads
 *
 * Thread safety: one forward/backward at a time per gl_dit.
 */
#ifndef GRIDLORA_MODEL_H
#define GRIDLORA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_dit_config {
    int64_t channels;                 /* colour channels of a frame (3) */
    int64_t frames, cell_h, cell_w;   /* one cell's video, as data and training size it */
    int64_t patch_t, patch_h, patch_w;
    int64_t width, depth, heads;      /* transformer width, blocks, attention heads */
    int64_t mlp_ratio;                /* MLP hidden = mlp_ratio * width */
    int64_t time_dim;                 /* sinusoidal timestep features (even) */
    int64_t text_vocab;               /* token ids are in [0, text_vocab); 0 is padding */
    int64_t concept_tokens;           /* <c0>..<cK-1> reserved in the vocabulary */
    int64_t text_len;                 /* longest prompt in tokens */
    int64_t text_width, text_layers, text_heads;
    double rope_theta;
    /* How RoPE places the cells of a 2x2 canvas: 0, one coordinate system over the whole
     * canvas (cells side by side); 1, positions restart in every cell, so the same place
     * in two cells is the same position (a cell's video is laid over the others': an
     * output cell finds the input's content where its own goes). One cell alone is the
     * same either way. Absent from a file's JSON (files before it): 0. */
    int64_t rope_per_cell;
    /* What the network's last layer predicts: 0, the velocity v = e - x0 itself; 1, the
     * clean video x0, turned into v = (x_t - x0_hat) / max(t, GL_DIT_X0_T_FLOOR) inside
     * the model ("x-prediction": a small pixel-space model places a clean subject more
     * easily than it carries the noise through; Li and He 2025, arXiv 2511.13720). The
     * model's output is v either way, so training and sampling do not change. Absent
     * from a file's JSON (files before it): 0. */
    int64_t predict_x0;
    /* 1: the caption also conditions every block's AdaLN, as a class label does in a
     * class-conditional DiT: each token's timestep embedding gets W . mean of the text
     * tokens that token may attend (its cross-attention mask row, so a grid cell pools
     * only its own prompts), W ("time_embed.text.weight", [width, width]) starting at
     * zero. Cross-attention alone left the shape words unlearned at our scale (the
     * shipped base draws the same outline for every shape word). Absent from a file's
     * JSON (files before it): 0. */
    int64_t text_pool;
    /* 1: a fixed sinusoidal embedding of each video token's (frame, row, column) position
     * (RoPE's positions, so restarting in each cell with rope_per_cell) is added to the
     * patch embedding, as DiT does (gl_abs_pos_add, base GL_DIT_ABS_POS_THETA). With RoPE
     * alone a token knows only its distance to others: the shape-set diagnostic
     * (models/default/TRAINING.md) halved its loss with it. No parameters. Absent from a
     * file's JSON (files before it): 0. */
    int64_t abs_pos;
} gl_dit_config;

/* The frequency base of the absolute position embedding (abs_pos), DiT's. */
#define GL_DIT_ABS_POS_THETA 10000.0

/* The smallest t an x-predicting model divides by: the clean context cells (t = 0) and
 * the last sampling steps stay finite, the loss weight 1/t^2 at most 400. */
#define GL_DIT_X0_T_FLOOR 0.05f

/* Fills cfg with a named preset: "tiny" (tests: a few thousand parameters) or
 * "default". GL_ENOTFOUND for another name. */
int gl_dit_config_preset(const char *name, gl_dit_config *cfg);

/* Checks every field and their relations (width divisible by heads, head size even and
 * splittable for 3D RoPE, cell sizes divisible by the patch, ...). 0, or GL_EINVAL with
 * the first problem in msg. */
int gl_dit_config_validate(const gl_dit_config *cfg, char *msg, size_t msglen);

/* The configuration as compact JSON (malloc'd; the caller frees), and back. Parsing
 * rejects unknown keys, missing keys, non-integers and then validates. */
char *gl_dit_config_to_json(const gl_dit_config *cfg);
int gl_dit_config_from_json(const char *json, gl_dit_config *cfg, char *msg, size_t msglen);

typedef struct gl_dit gl_dit;

/* Metadata key under which a weights file keeps its configuration JSON. */
#define GL_DIT_CONFIG_KEY "gridlora.config"

/* Makes a model: validates cfg, declares and allocates every parameter (zeroed). */
int gl_dit_new(gl_dit **out, const gl_dit_config *cfg, char *msg, size_t msglen);
void gl_dit_free(gl_dit **m);

const gl_dit_config *gl_dit_cfg(const gl_dit *m);
/* The parameter store: names like "blocks.3.attn.q.weight"; save and load by name. */
gl_params *gl_dit_params(gl_dit *m);

/* Saves the weights (every parameter, stored as dtype: 0 F32, 1 F16, 2 BF16, as
 * gl_st_dtype) with the configuration in metadata; atomic (temporary name, rename). */
int gl_dit_save(const gl_dit *m, const char *path, int dtype, char *msg, size_t msglen);

/* Makes the model a weights file describes and loads it: every parameter must be
 * there with its shape. From a training checkpoint of a run with an EMA, the EMA
 * weights (what the run's OUT gets). Errors name the file and the problem. */
int gl_dit_load(gl_dit **out, const char *path, char *msg, size_t msglen);

/* Initialises the weights from seed: linear weights normal(0, 1/sqrt(fan_in)),
 * embeddings normal(0, 0.02), norms 1, biases 0, and AdaLN modulations and the final
 * projection 0 (AdaLN-zero: every block starts as the identity). */
void gl_dit_init_weights(gl_dit *m, uint64_t seed);

/* One batch. The video is a canvas of F x H x W (one cell or a grid of cells); H, W and
 * F must divide by the patch. T = (F/pt)(H/ph)(W/pw) tokens per item. */
typedef struct gl_dit_batch {
    int64_t B, F, H, W;
    const float *x;          /* [B,F,H,W,channels] noised video */
    const float *t;          /* [B,T] timestep per token in [0,1]; clean context 0 */
    const int32_t *text;     /* [B,text_len] token ids, padded with 0 after text_len_of */
    const int32_t *text_lens;/* [B] prompt lengths; 0 = no prompt (classifier-free) */
    const uint8_t *self_mask;    /* optional [T,T] per item, 1 = may attend */
    int64_t self_mask_bstride;   /* 0: one mask for the batch, else T*T */
    const uint8_t *cross_mask;   /* optional [T,text_len] per item, ANDed with lengths */
    int64_t cross_mask_bstride;  /* 0 or T*text_len */
    const uint8_t *text_mask;    /* optional [text_len,text_len] per item: which prompt
                                    tokens each prompt token reads in the text encoder
                                    (a grid's cell prompts kept apart), ANDed with lengths */
    int64_t text_mask_bstride;   /* 0 or text_len*text_len */
    /* A training forward: attached adapters with a dropout (gl_lora_set_dropout) drop
     * their inputs. 0 (sampling, evaluation; a zeroed batch): nothing is dropped. */
    int train;
    uint64_t dropout_seed;       /* the step's: the masks are a function of it alone */
    int64_t first_item;          /* index of item 0 in the whole batch when a batch is
                                    split (data-parallel ranks): an item's masks do not
                                    depend on the split; 0 otherwise; at most 2^24 */
} gl_dit_batch;

/* Bytes of arena a forward and backward of this batch shape need, at the precision set
 * now: under GL_PRECISION_BF16 it includes bf16 copies of the layers' inputs, which an
 * arena sized under fp32 goes without (the layers then round their inputs each time). */
size_t gl_dit_arena_bytes(const gl_dit *m, int64_t B, int64_t F, int64_t H, int64_t W);

/* Predicts v = e - x0 for every element: out [B,F,H,W,channels]. Activations for
 * backward stay in arena (do not reset it before gl_dit_backward). GL_EINVAL for a
 * shape the model cannot take (message in msg), GL_ENOMEM when the arena is short. */
int gl_dit_forward(gl_dit *m, gl_arena *arena, const gl_dit_batch *b, float *out,
                   char *msg, size_t msglen);

/* Backward of the last forward, dout [B,F,H,W,channels]; accumulates into the
 * gradients of parameters that are not GL_PARAM_FROZEN. */
int gl_dit_backward(gl_dit *m, gl_arena *arena, const float *dout);

#ifdef __cplusplus
}
#endif
#endif

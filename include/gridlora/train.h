/* gridlora/train.h: rectified-flow training of a DiT: the loop every stage shares.
 *
 * x_t = (1 - t) x0 + t e, the model predicts v = e - x0, t logit-normal per sample,
 * tokens given clean (context cells) carry t = 0 and no loss; prompts dropped at a set
 * rate for classifier-free guidance; AdamW with warm-up then cosine decay, gradient
 * clipping by global norm, optional EMA of the weights; atomic checkpoints that resume
 * bit for bit (each sample's randomness is drawn from (seed, step, its index in the
 * batch), not from a stream). Which parameters train is the caller's choice, through
 * GL_PARAM_FROZEN.
 *
 * Data parallel (gridlora/dist.h): run as K MPI ranks, each computes batch/K samples of
 * every step (rank r: samples [r B/K, (r+1) B/K)), the loss's sums and the gradients
 * are added over ranks, and each rank then takes the same optimiser step: the run is
 * the single-process run up to rounding. Only rank 0 writes the log and checkpoints
 * and calls progress; on resume rank 0 reads the checkpoint and sends it to the others.
 *
 *     gl_train_opts o = gl_train_default_opts();
 *     o.steps = 2000; o.batch = 4; o.checkpoint = "run.ckpt.safetensors";
 *     gl_train_run(model, &o, my_batches, my_ctx, &result, msg, sizeof msg);
 *
 * The data source fills one sample of clean video and prompt per call.
 */
#ifndef GRIDLORA_TRAIN_H
#define GRIDLORA_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/core.h"
#include "gridlora/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One batch, buffers owned by the trainer (sized from the options); the source fills
 * them. x0 is in the model's range [-1, 1]. */
typedef struct gl_train_batch {
    int64_t B, F, H, W, T, text_len;   /* set by the trainer: what to fill */
    int64_t index;                     /* set by the trainer: the first sample's index in
                                          the step's whole batch (over every rank) */
    float *x0;                         /* [B,F,H,W,channels] */
    int32_t *text;                     /* [B,text_len], 0-padded */
    int32_t *text_lens;                /* [B] */
    uint8_t *clean;                    /* [B,T], zeroed before each call; 1 = given clean */
    /* optional attention masks (see gl_dit_batch); the source may point them at its own
     * memory, valid until its next call */
    const uint8_t *self_mask, *cross_mask, *text_mask;
    int64_t self_mask_bstride, cross_mask_bstride, text_mask_bstride;
    float *weight;                     /* [B,F,H,W]: each pixel's weight in the loss, set to
                                          1 before each call; a source may change it (the
                                          loss is the weighted mean over noised pixels) */
    double offset_noise;               /* set to opts->offset_noise before each call; a
                                          source may change it for its sample (the grid
                                          sets do, per layout): the std of the sample's
                                          offset noise, >= 0 */
} gl_train_batch;

/* Fills b for `step` (0-based) with randomness from rng only. gl_train_run calls it
 * once per sample (b->B = 1, b->index the sample's place in the step's batch) with rng
 * seeded from the run's seed, the step and that index, then draws the sample's noise
 * from the same rng: a sample does not depend on which rank computes it, so K ranks
 * together see exactly the batch one process sees. Masks the source points b at are
 * copied before the next call. 0, or a negative GL_E* with a one-line msg. */
typedef int (*gl_batch_fn)(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg,
                           size_t msglen);

typedef struct gl_train_opts {
    gl_params *params;                 /* the store to train (its non-frozen parameters)
                                          and checkpoint: NULL for the model's own; a LoRA
                                          stage passes gl_lora_params of an attached
                                          adapter and freezes the model */
    int64_t steps, batch;              /* batch: the whole batch, over every rank (a
                                          multiple of gl_dist_size()) */
    int64_t frames, height, width;     /* sample size; 0: the model's cell */
    uint64_t seed;
    float lr, lr_min_ratio;            /* peak rate, and the cosine's floor as a fraction */
    int64_t warmup;                    /* steps of linear warm-up */
    float weight_decay, clip_norm;     /* clip_norm <= 0: no clipping */
    float ema;                         /* EMA decay per step; 0: no EMA */
    float prompt_drop;                 /* probability a prompt is dropped (CFG) */
    double t_mu, t_sigma;              /* logit-normal timesteps */
    double offset_noise;               /* std of a constant added to the noise over each
                                          cell (cell_h x cell_w of the frame) and channel
                                          of a sample, so that a noised cell's mean colour
                                          cannot be read off x_t and is taken from what
                                          conditions it; 0: none (and no draws for it) */
    float colour_weight;               /* weight of a second loss term: the squared error of
                                          each noised cell's mean (per frame and channel,
                                          weighed by the loss mask) of the prediction,
                                          gl_cellmean_sums, averaged over those means; the
                                          colour a cell is drawn in, which the MSE counts
                                          once among thousands of pixels; cells of the
                                          model's cell size where they tile the sample, else
                                          the whole frame. 0: none (default) */
    const char *checkpoint;            /* path, or NULL */
    int64_t checkpoint_every;          /* steps; 0: only at the end */
    int resume;                        /* continue from the checkpoint when it exists */
    const char *log_csv;               /* "step,loss,lr,grad_norm,seconds" per step, or NULL */
    int64_t stop_after;                /* stop (checkpointing) after this step although the
                                          schedule runs to `steps`; 0: run to the end */
    int repeat_noise;                  /* the same noise, timesteps and prompt drops at
                                          every step: for overfitting tests only */
    /* called after every step */
    void (*progress)(void *ctx, int64_t step, int64_t steps, double loss, double samples_per_s);
    void *progress_ctx;
} gl_train_opts;

/* steps 1000, batch 4, lr 3e-4 to 10% by cosine after 100 warm-up steps, weight decay
 * 0.01, clipping at 1.0, no EMA, prompt drop 0.1, t logit-normal(0, 1), no offset noise. */
gl_train_opts gl_train_default_opts(void);

typedef struct gl_train_result {
    int64_t start_step, steps_done;  /* resumed at start_step; steps run now */
    double last_loss, mean_loss_last10, seconds;
} gl_train_result;

/* Trains m. On a NaN or Inf loss or gradient it stops with GL_EFORMAT and a message
 * naming the step (the last checkpoint stays as it was). With opts->ema the EMA weights
 * are what the checkpoint's "ema." tensors hold; m keeps the raw weights. Under MPI every
 * rank calls it with the same options; a batch that does not divide by the ranks is
 * GL_EINVAL; the trained parameters start from rank 0's values. */
int gl_train_run(gl_dit *m, const gl_train_opts *opts, gl_batch_fn next, void *ctx,
                 gl_train_result *res, char *msg, size_t msglen);

/* The learning rate at a step (0-based) under opts' schedule. */
float gl_train_lr(const gl_train_opts *opts, int64_t step);

#ifdef __cplusplus
}
#endif
#endif

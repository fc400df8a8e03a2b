/* gridlora/data.h: where training batches come from: the domain's tokenizer, procedural
 * concepts rendered on the fly, and data sets on disk (as `gridlora dataset` writes
 * them). A source is a gl_batch_fn for gl_train_run (train.h).
 *
 *     gl_data *d = NULL;
 *     char msg[512];
 *     if (gl_data_procedural(&d, gl_dit_cfg(model), msg, sizeof msg)) { puts(msg); ... }
 *     // or: gl_data_dir(&d, "data/train", gl_dit_cfg(model), NULL, NULL, msg, sizeof msg);
 *     gl_train_run(model, &opts, gl_data_next, d, &result, msg, sizeof msg);
 *     gl_data_free(&d);
 *
 * Samples are cells of the model's size (cfg frames x cell_h x cell_w; the trainer's
 * batch must ask for that size), mapped from video [0,1] to the model's [-1,1], with a
 * token-free caption tokenized by gl_domain_tokenizer. A caption longer than the model's
 * text_len is cut to its first text_len tokens (only test-sized presets are that short).
 *
 * Determinism: what a source yields for a batch depends only on the rng it is given
 * (gl_train_run calls it once per sample, seeding it from the run's seed, the step and
 * the sample's index) and on the source's data: the same step of the same run gets the
 * same batch, which is what makes resumed runs exact and lets MPI ranks each make their
 * own share of it. Rendering is bit-exact on every machine and thread count (render.h).
 *
 * Ownership: a gl_data is made by gl_data_procedural / gl_data_dir and released by
 * gl_data_free. It keeps no pointer to its arguments (the config is copied). One
 * gl_data_next at a time per source.
 */
#ifndef GRIDLORA_DATA_H
#define GRIDLORA_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/model.h"
#include "gridlora/render.h"
#include "gridlora/tokenizer.h"
#include "gridlora/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the domain's vocabulary ------------------------------------------------------ */

/* The words every prompt of the project uses, in the order that fixes their token ids:
 *   1. the first GL_DOMAIN_CAPTION_WORDS words of gl_caption_vocab() (the caption
 *      vocabulary as the first weights were trained with it): ids 7..54;
 *   2. the extra words of prompts outside captions: the built-in layouts' global prompts
 *      "edit", "compose", "character", "story" (grid.h; "and" and "with", which the
 *      layouts also use, are caption words already): ids 55..58;
 *   3. any words gl_caption_vocab() has gained since, in its order.
 * A word already listed is not repeated. Ids must never move once weights are shipped:
 * new words go at the end (of gl_caption_vocab() or of the extra list here, either
 * keeps every existing id), never in between, and no word is ever removed.
 * Writes up to cap pointers to static strings into words (words may be NULL when cap is
 * 0) and returns the number of words in all. */
#define GL_DOMAIN_CAPTION_WORDS 48
int gl_domain_vocab(const char **words, int cap);

/* The tokenizer of the domain for a model: gl_domain_vocab's words, the model's
 * vocabulary size and concept tokens. 0, or GL_EINVAL (the words and concept tokens do
 * not fit in cfg->text_vocab) / GL_ENOMEM with msg. The caller frees *out with
 * gl_tokenizer_free. */
int gl_domain_tokenizer(const gl_dit_config *cfg, gl_tokenizer **out, char *msg, size_t msglen);

/* ---- sources ---------------------------------------------------------------------- */

typedef struct gl_data gl_data;

/* Procedural concepts: each sample is a fresh GL_SPLIT_TRAIN concept whose seed is drawn
 * from the rng, in one of the GL_VARIANT_COUNT variants drawn uniformly (plain, each
 * effect, another background, another motion, composed with a second fresh train
 * concept), rendered at the model's cell size (gl_render_default_opts' supersampling),
 * captioned by gl_variant_caption without concept tokens. Held-out appearances can
 * never occur (render.h, "Held-out split"). 0, or GL_EINVAL / GL_ENOMEM with msg. */
int gl_data_procedural(gl_data **out, const gl_dit_config *cfg, char *msg, size_t msglen);

/* A data set on disk: reads DIR/manifest.jsonl (dataset.h) and every video it lists
 * ("file" of each concept and of each entry of its "variants"), read with gl_video_read
 * at the model's cell size and kept in memory (8 bits per value: 9 videos of 8x32x32
 * take 221 KiB per concept). Each sample is one of the listed videos drawn uniformly,
 * with its manifest "caption" (token-free) tokenized up front. A concept whose "split" is
 * "heldout" is refused (held-out concepts are for evaluation only); "split" may be
 * absent in a hand-made manifest. File names are relative to DIR; absolute names and
 * ".." components are refused. progress (may be NULL) is called after each video with
 * (done, total). Errors name the file: "DIR/manifest.jsonl: line 3: 'caption' missing
 * or not a string", "DIR/0002.smoke.mp4: cannot open: No such file or directory", an
 * unknown caption word as the tokenizer says it. 0, or GL_EIO / GL_EFORMAT / GL_EINVAL
 * / GL_ENOMEM with msg. */
int gl_data_dir(gl_data **out, const char *dir, const gl_dit_config *cfg,
                void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx,
                char *msg, size_t msglen);

void gl_data_free(gl_data **d);

/* Subject weighting, procedural sources only: each pixel's loss weight becomes
 * 1 + w * (the share of it the scene's subjects cover), so a subject, a small part of
 * the frame, counts for more than its area (the caption's colour, shape and path live
 * there; the background is most of the loss and learnt first). w = 0 (the default)
 * leaves every weight 1. GL_EINVAL for a source read from disk (it holds no coverage) or
 * w outside [0, 1000]. */
int gl_data_set_subject_weight(gl_data *d, float w);

/* Procedural sources only: on = 1 renders every subject upright (its rotation at t = 0
 * and its spin set to 0, so no caption says "spinning"); a curriculum's first part, where
 * a shape word always means the same outline. GL_EINVAL for a source read from disk. */
int gl_data_set_upright(gl_data *d, int on);

/* Procedural sources only: every subject drawn k times its domain size
 * (gl_concept_scale: 1 = the domain; the largest, 0.22 of the frame's shorter side,
 * grows to 0.33 at k = 1.5), its path drawn again to stay in frame. GL_EINVAL for a
 * source read from disk or k outside [GL_DATA_SCALE_MIN, GL_DATA_SCALE_MAX]. */
#define GL_DATA_SCALE_MIN 0.5
#define GL_DATA_SCALE_MAX 1.5
int gl_data_set_subject_scale(gl_data *d, double k);

/* Procedural sources only: n > 0 draws every sample's concept (and a two-subject
 * variant's partner) from a fixed pool of n train concepts, seeds pool_seed,
 * pool_seed + 1, ..., pool_seed + n - 1 (tools/shape_set numbers its concepts the same
 * way), with the first subject's shape drawn anew for each sample (a partner keeps its
 * own concept's shape); so each concept is seen in
 * every shape, and within a concept only the shape word, the variant and the noise
 * differ: a curriculum's first part, for the shape word, learnt last from fresh
 * concepts and from a few memorised videos at all (models/default/TRAINING.md, "Shape,
 * measured", which also has a pool of 64 not bringing it in 6,000 steps). n = 0 (the
 * default) draws a fresh concept for every sample. A pool adds one draw per sample, so
 * a run with a pool does not replay one without. GL_EINVAL for a source read from disk
 * or n outside [0, GL_DATA_POOL_MAX]. */
#define GL_DATA_POOL_MAX 1000000
int gl_data_set_concept_pool(gl_data *d, int64_t n, uint64_t pool_seed);

/* With a concept pool: each sample comes from the pool with probability share (in
 * (0, 1]; 1, the default, is the whole pool) and is otherwise a fresh concept of the
 * train split in its own shape, as with no pool; so a curriculum can widen to the domain
 * while the pool keeps the shape word anchored. A share under 1 adds one draw per sample.
 * GL_EINVAL for a source read from disk or a share outside (0, 1]. */
int gl_data_set_pool_share(gl_data *d, double share);

/* The gl_batch_fn of a source (ctx is the gl_data *): fills b->x0, b->text and
 * b->text_lens for b->B samples drawn with rng. b->F, b->H, b->W must be the model's
 * cell size (else GL_EINVAL); b->clean and masks are left alone (every token noised); b->weight, when not NULL, as
 * gl_data_set_subject_weight says. */
int gl_data_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg,
                 size_t msglen);

/* Videos a directory source holds (0 for a procedural one), and concepts it read. */
int64_t gl_data_videos(const gl_data *d);
int64_t gl_data_concepts(const gl_data *d);

/* What sample i of the last gl_data_next was (NULL for i outside the last batch): for
 * inspection and tests. */
typedef struct gl_data_item {
    uint64_t seed, partner_seed; /* procedural: the concepts' seeds (partner: WITH only) */
    int shape;                   /* procedural: the first subject's gl_shape */
    int variant;                 /* procedural: gl_variant; directory: -1 when the
                                    manifest entry's name is not a known variant */
    int64_t video;               /* directory: index of the video in manifest order */
    char caption[GL_CAPTION_MAX];
} gl_data_item;
const gl_data_item *gl_data_last(const gl_data *d, int64_t i);

/* ---- finishing a run -------------------------------------------------------------- */

/* Loads the EMA weights a gl_train_run checkpoint holds (its "ema." tensors) into the
 * store the run trained (gl_dit_params of the model, or the opts.params it was given),
 * checking every tensor first: on failure p is unchanged. GL_ENOTFOUND when the
 * checkpoint has no EMA (the run had opts.ema = 0), GL_EFORMAT / GL_EIO with msg naming
 * the file. */
int gl_train_load_ema(gl_params *p, const char *checkpoint, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif

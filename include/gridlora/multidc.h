/* gridlora/multidc.h: training data and stages of a Multi-DC LoRA (Set-and-Sequence):
 * one adapter for many dynamic concepts, each named by its own token, trained first on
 * appearance (Set) and then on motion (Sequence). Also the same two stages on one user
 * video: test-time fine-tuning (TTFT), the baseline zero-shot personalization replaces.
 *
 *     gl_multidc *d = NULL;
 *     gl_multidc_dir(&d, "data/train", gl_dit_cfg(m), NULL, NULL, msg, sizeof msg);
 *     const int32_t *ids;
 *     gl_lora_spec s = gl_lora_default_spec();
 *     s.motion = 1;
 *     s.n_tokens = gl_multidc_tokens(d, &ids);
 *     s.tokens = ids;
 *     gl_lora_new(&l, m, &s, seed, msg, sizeof msg);  // the model's params all frozen
 *     gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg);
 *     gl_multidc_set_mode(d, GL_MULTIDC_SET);  gl_lora_set_stage(l, GL_MULTIDC_SET);
 *     gl_train_run(m, &set_opts, gl_multidc_next, d, &res, msg, sizeof msg);   // A, B, tokens
 *     gl_multidc_set_mode(d, GL_MULTIDC_SEQUENCE);  gl_lora_set_stage(l, GL_MULTIDC_SEQUENCE);
 *     gl_train_run(m, &seq_opts, gl_multidc_next, d, &res, msg, sizeof msg);   // B2
 *
 * The two modes:
 *   SET       appearance only. A sample is ONE frame of a concept's clip, drawn uniformly,
 *             repeated over all the model's frames: a static clip, so neither frame order
 *             nor motion can be learnt from it. (The paper's Set stage trains on unordered
 *             single frames; our model always takes F frames, and a still clip is the
 *             F-frame form of one frame. Shuffled frames would instead show a subject that
 *             jumps around, which the model would learn as motion.)
 *   SEQUENCE  the clip as rendered, frames in order: the motion.
 * The caption is the same in both modes: the concept's prompt with its token ("a <c3>
 * red striped star orbiting on sand with smoke"), so the Sequence stage adds motion to
 * exactly the conditioning the Set stage learnt appearance for.
 *
 * Which videos of a data set (dataset.h) are used, per concept: the plain clip (drawn
 * with probability 1/2, so the clean view of the identity dominates) and, with the other
 * half, one of the effect variants (smoke, lights, night, rain, shadow) or the "bg"
 * variant (another background), uniformly. These show the concept's own subject on its
 * own path while the WORDS change ("with smoke", "at night", "on grass"), which teaches
 * the token to carry identity and motion and leaves effects and scenes to the words,
 * as editing prompts ("<c3> ... with smoke") need. Left out: "motion" (another path:
 * in the Sequence stage it would teach the token that the path is not the concept's)
 * and "with" (two subjects, one partly hidden, and the partner's token). Concepts are
 * drawn uniformly, whatever their number of videos.
 *
 * Determinism: as data.h's sources, a batch depends only on the rng and the data.
 * Ownership: made by gl_multidc_dir / gl_multidc_video, released by gl_multidc_free; no
 * pointer to the arguments is kept. One gl_multidc_next at a time per source.
 */
#ifndef GRIDLORA_MULTIDC_H
#define GRIDLORA_MULTIDC_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/render.h"
#include "gridlora/train.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { GL_MULTIDC_SET = 0, GL_MULTIDC_SEQUENCE = 1 };

typedef struct gl_multidc gl_multidc;

/* A data set on disk as `gridlora dataset` writes it (dataset.h): each manifest line's
 * "token" ("<cK>") and "prompt" (the caption with the token) and those of its variants
 * (see above), the videos read with gl_video_read at the model's cell size, kept as 8
 * bits per value. Errors (GL_EFORMAT / GL_EINVAL / GL_EIO / GL_ENOMEM, msg names the
 * file and line): a manifest without "token" or "prompt", a prompt that lacks its own
 * concept's token, two concepts with one token, a held-out concept, a token the model
 * has not got ("<c20>" for 16 concept tokens), and more concepts than the model's
 * concept tokens ("DIR/manifest.jsonl: 20 concepts, but the model has 16 concept tokens
 * (<c0>..<c15>)"). progress as gl_data_dir's (may be NULL). Starts in SET mode. */
int gl_multidc_dir(gl_multidc **out, const char *dir, const gl_dit_config *cfg,
                   void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx,
                   char *msg, size_t msglen);

/* One video (any file gl_video_read opens) as the only concept, captioned with prompt,
 * which must hold token: "<v>" (the free token) or a concept token "<cK>" of the model.
 * For test-time fine-tuning. Errors as above; a prompt without the token is GL_EINVAL. */
int gl_multidc_video(gl_multidc **out, const char *path, const char *token, const char *prompt,
                     const gl_dit_config *cfg, char *msg, size_t msglen);

/* As gl_multidc_video, for a clip in memory: v must be the model's cell (cfg frames x
 * cell_h x cell_w, values in [0, 1]; else GL_EINVAL); it is kept as 8 bits, rounded. */
int gl_multidc_clip(gl_multidc **out, const gl_video *v, const char *token, const char *prompt,
                    const gl_dit_config *cfg, char *msg, size_t msglen);

void gl_multidc_free(gl_multidc **d);

/* GL_MULTIDC_SET or GL_MULTIDC_SEQUENCE, for the following batches. */
void gl_multidc_set_mode(gl_multidc *d, int mode);

/* The concepts' token ids, in concept order (for gl_lora_spec.tokens); the count. The
 * array lives as long as d. */
int gl_multidc_tokens(const gl_multidc *d, const int32_t **ids);
int64_t gl_multidc_concepts(const gl_multidc *d);
int64_t gl_multidc_videos(const gl_multidc *d);

/* The prompt that names a concept by its token alone: "a <c3>" (buf of n bytes). What
 * `eval --multidc` samples from to ask whether the token carries the concept. */
void gl_multidc_token_prompt(const char *token, char *buf, size_t n);

/* From the next batch on, a plain clip (not a variant) drawn for a sample is captioned,
 * with probability p, with its token alone (gl_multidc_token_prompt) instead of the
 * manifest's prompt, so that the token learns to carry the whole concept, its
 * background too, and not only what the words leave out (DreamBooth's "a [V] dog"). The
 * variants keep their prompts: the words still name the effects. p = 0 (the default)
 * draws nothing more from the rng: a run's batches are those of a build without it.
 * GL_EINVAL for p outside [0, 1]. */
int gl_multidc_set_token_only(gl_multidc *d, float p, char *msg, size_t msglen);

/* Gives each concept's token V embeddings (gl_lora_spec.token_vectors; 1, the default,
 * leaves d as it is): the extras are the model's concept tokens no concept of d names,
 * in increasing order, bank by bank (with <c0>..<c31> named: <c32>..<c63> the second
 * vectors, <c64>.. the third), every prompt's token (and the token-alone prompt's) is
 * expanded into its V ids, and gl_multidc_tokens returns the n V ids in the spec's
 * layout. Once, after loading. GL_EINVAL (msg says why) for V outside [1,
 * GL_LORA_MAX_TOKEN_VECTORS], a second call, too few free concept tokens, or a prompt
 * then too long (d is then part expanded: free it). */
int gl_multidc_set_token_vectors(gl_multidc *d, int V, char *msg, size_t msglen);
int gl_multidc_token_vectors(const gl_multidc *d); /* V; 1 until set */

/* Sets each of l's token rows (gl_lora_token_rows) to the mean of the base model's
 * embeddings of the words of its concept's plain prompt, the token itself left out:
 * the token starts from what the caption says (textual inversion's initialisation from
 * a describing word) instead of from an embedding the base never trained. l must be
 * made with d's tokens (gl_multidc_tokens); GL_EINVAL otherwise, msg says which. */
int gl_multidc_init_token_rows(const gl_multidc *d, gl_lora *l, gl_dit *m, char *msg, size_t msglen);

/* The gl_batch_fn (ctx is the gl_multidc *): b->F, b->H, b->W must be the model's cell
 * (else GL_EINVAL); fills x0 in [-1, 1], text and text_lens (cut to b->text_len). */
int gl_multidc_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg,
                    size_t msglen);

/* What sample i of the last batch was (NULL outside it), for inspection and tests. */
typedef struct gl_multidc_item {
    int64_t concept;  /* index in manifest order */
    int64_t video;    /* index among the source's videos */
    int variant;      /* gl_variant (GL_VARIANT_PLAIN for a single video) */
    int64_t frame;    /* SET: the frame repeated; SEQUENCE: -1 */
    char caption[GL_CAPTION_MAX];
} gl_multidc_item;
const gl_multidc_item *gl_multidc_last(const gl_multidc *d, int64_t i);

/* Makes l's parameters trainable for a stage and freezes the rest (GL_PARAM_FROZEN,
 * other flags kept): SET trains A, B and the token rows, SEQUENCE only B2. GL_EINVAL for
 * an adapter without a motion branch (gl_lora_spec.motion) or an unknown stage. */
int gl_lora_set_stage(gl_lora *l, int stage);

#ifdef __cplusplus
}
#endif
#endif

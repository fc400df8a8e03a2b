/* gridlora/lora.h: LoRA adapters for the DiT: making, saving, loading and merging them.
 *
 * An adapter targets linear modules of a model by name pattern ("blocks.*.attn.q"): for
 * each it holds A [rank, in] and B [out, rank] (B starts at zero, so a new adapter
 * changes nothing), and W' = W + (alpha / rank) B A. A pattern may also name norm gains
 * ("blocks.*.attn.norm_[qk]", the self-attention's QK RMS norms): for each the adapter
 * holds a delta d (starting at zero) and the model uses g' = g + weight d. A LoRA on the
 * query and key projections cannot sharpen attention past what the base's QK gains
 * allow (the norm divides out any scale it adds); shifting the gains can. With `motion` it also holds a
 * second up-projection B2 (Multi-DC LoRA, Set-and-Sequence: W' = W + s (B + B2) A; the
 * Set stage trains A and B on frames, the Sequence stage B2 on clips). It may also
 * carry embeddings for some token ids (concept tokens trained with it), which replace
 * the base model's rows while it is applied; with token_vectors V > 1 each token a
 * prompt names stands for V embeddings (multi-vector textual inversion): the prompt's
 * "<c3>" becomes V ids, its own and V - 1 free concept ids the adapter carries, so that
 * one token can hold the several attributes (subject, colour, background) a caption
 * spreads over several words. Tokenizing for a model with adapters attached therefore
 * goes through gl_dit_expand_tokens (generate, eval, the Multi-DC cells of `grids`, and
 * the grid apps' joined prompts and a grid set's canvases through gl_layout_tokenize
 * given the model).
 *
 * Files are safetensors with PEFT-style names: "<module>.lora_A.weight",
 * "<module>.lora_B.weight", "<module>.lora_B2.weight", "<norm>.lora_gain",
 * "text.token_embed.lora_rows"; the
 * metadata holds rank, alpha, targets, token ids and the base model's configuration.
 *
 *     gl_lora_spec s = gl_lora_default_spec();
 *     gl_lora *l = NULL;
 *     gl_lora_new(&l, model, &s, seed, msg, sizeof msg);
 *     gl_dit_attach_lora(model, l, 1.0f);   // forward/backward now include it
 *     ... train gl_lora_params(l) ...
 *     gl_lora_save(l, "a.safetensors", msg, sizeof msg);
 */
#ifndef GRIDLORA_LORA_H
#define GRIDLORA_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/core.h"
#include "gridlora/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every attention projection (self and cross) and both MLP projections of every block. */
#define GL_LORA_DEFAULT_TARGETS "blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12]"

typedef struct gl_lora_spec {
    int rank;              /* default 8 */
    float alpha;           /* default 8: scale = alpha / rank */
    const char *targets;   /* comma-separated fnmatch patterns over module names */
    int motion;            /* 1: also a motion up-projection B2 (Multi-DC) */
    const int32_t *tokens; /* token ids whose embeddings the adapter carries, or NULL */
    int n_tokens;
    int token_vectors;     /* embeddings per token a prompt names (default 1; up to
                              GL_LORA_MAX_TOKEN_VECTORS): n_tokens = n V, tokens[i] the
                              i-th named token (i < n), tokens[i + j n] its j-th extra */
} gl_lora_spec;

#define GL_LORA_MAX_TOKEN_VECTORS 16

gl_lora_spec gl_lora_default_spec(void);

typedef struct gl_lora gl_lora;

/* A new adapter for model m: A normal(0, 1/sqrt(in)) from seed, B (and B2) zero, token
 * rows copied from m. GL_EINVAL (msg says why) for a rank < 1, a pattern matching no
 * module, a token id outside the vocabulary. */
int gl_lora_new(gl_lora **out, const gl_dit *m, const gl_lora_spec *spec, uint64_t seed, char *msg,
                size_t msglen);
void gl_lora_free(gl_lora **l);

/* A new adapter over `targets` that holds every tensor of `from` (same rank, alpha,
 * motion branch and tokens): modules and gains `from` lacks start as gl_lora_new's (from
 * seed), so the new one computes what `from` does. To train on an adapter with more
 * targets (e.g. its attention's norm gains). GL_EINVAL, naming it, when a tensor of
 * `from` is outside the targets. */
int gl_lora_retarget(gl_lora **out, const gl_dit *m, const gl_lora *from, const char *targets, uint64_t seed,
                     char *msg, size_t msglen);

/* The adapter's own parameters (A, B, B2, gain deltas, token rows), trained by a LoRA
 * stage. Names as in the file. */
gl_params *gl_lora_params(gl_lora *l);

/* The configuration of the model the adapter was made for. */
const gl_dit_config *gl_lora_cfg(const gl_lora *l);

int gl_lora_rank(const gl_lora *l);
float gl_lora_scale(const gl_lora *l); /* alpha / rank */
int gl_lora_has_motion(const gl_lora *l);

/* Dropout on the adapter's input (PEFT's lora_dropout): while attached, a training
 * forward (gl_dit_batch.train) zeroes each input element of each of its modules with
 * probability p and scales the rest by 1 / (1 - p), B2 seeing the same dropped input
 * as B; sampling, evaluation and merging never drop. The masks come from the batch's
 * dropout_seed, so a run is deterministic and resumes exactly. Set it before sizing the
 * arena (gl_dit_arena_bytes), never between a forward and its backward: with p > 0 a
 * forward needs two more [rows, in] buffers.
 * Not saved in the adapter's file (it is a training setting). GL_EINVAL unless
 * 0 <= p < 1; a new or loaded adapter has 0. */
int gl_lora_set_dropout(gl_lora *l, float p);
float gl_lora_dropout(const gl_lora *l);

/* Modules: count, name ("blocks.0.attn.q") and parameter indices in gl_lora_params
 * (b2 < 0 without motion). */
int gl_lora_module_count(const gl_lora *l);
const char *gl_lora_module_name(const gl_lora *l, int i);
void gl_lora_module_params(const gl_lora *l, int i, int *a, int *b, int *b2);

/* Norm gains: count, name ("blocks.0.attn.norm_q") and the index of the delta in
 * gl_lora_params. */
int gl_lora_gain_count(const gl_lora *l);
const char *gl_lora_gain_name(const gl_lora *l, int i);
int gl_lora_gain_param(const gl_lora *l, int i);

/* Token ids the adapter carries, and the index of their rows tensor (-1 if none). */
int gl_lora_tokens(const gl_lora *l, const int32_t **ids);
int gl_lora_token_rows(const gl_lora *l);
/* Embeddings per named token (gl_lora_spec.token_vectors; 1 for files without it). */
int gl_lora_token_vectors(const gl_lora *l);

/* Rewrites ids[0..*n) in place: each token the adapter names with V > 1 embeddings
 * becomes its V ids (its own first); others stay. GL_EINVAL, ids untouched, when the
 * result would exceed max ids. With V = 1 nothing changes. */
int gl_lora_expand_tokens(const gl_lora *l, int32_t *ids, int64_t *n, int64_t max);
/* The same over a group table in gl_lora_spec.tokens' layout: groups[named * V], named
 * tokens first, then each bank of extras. */
int gl_tokens_expand(const int32_t *groups, int named, int V, int32_t *ids, int64_t *n, int64_t max);

/* gl_lora_expand_tokens for every adapter attached to m, in order: what a prompt's ids
 * must go through before a forward of m (gl_tokenize knows no adapters). */
int gl_dit_expand_tokens(const gl_dit *m, int32_t *ids, int64_t *n, int64_t max);

/* Saves atomically (F32 or as gl_st_dtype `dtype`). */
int gl_lora_save(const gl_lora *l, const char *path, int dtype, char *msg, size_t msglen);

/* Loads an adapter made for a model of m's configuration; a file for another model
 * fails with a message naming the tensor that does not fit. */
int gl_lora_load(gl_lora **out, const gl_dit *m, const char *path, char *msg, size_t msglen);

/* Applies l (scaled by weight) in m's forward and backward from now on, after the
 * adapters attached before it; several may be attached at once. m keeps the pointer:
 * l must outlive the attachment. Gradients go to l's parameters that are not
 * GL_PARAM_FROZEN. GL_EINVAL for an adapter made for another configuration. */
int gl_dit_attach_lora(gl_dit *m, gl_lora *l, float weight, char *msg, size_t msglen);

/* Removes every attached adapter (they are not freed). A NULL m is a no-op. */
void gl_dit_detach_loras(gl_dit *m);

/* Folds weight * adapter into m's base weights (W += weight * scale (B + B2) A, the
 * gains g += weight d) and writes the token rows into m's embedding table. The adapter
 * is unchanged. GL_EINVAL
 * for an adapter with token_vectors > 1: a merged model's prompts would not expand. */
int gl_lora_merge(gl_dit *m, const gl_lora *l, float weight, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif

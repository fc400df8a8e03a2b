/* gridlora/nn.h: the layers a video DiT is made of, each x_forward beside its x_backward.
 *
 * Conventions, as in llm.c's train_gpt2.c:
 * - Plain float pointers with explicit sizes; shapes are given in the comment of each
 *   function, row-major, last index fastest. N is a count of rows (tokens), C a width.
 * - Backward functions ACCUMULATE (+=) into every gradient they write, so a tensor
 *   used twice collects both contributions; callers zero gradients once per step.
 *   A gradient pointer given as NULL is not computed (a frozen weight costs nothing).
 * - Forward functions may cache what backward needs in caller-provided buffers
 *   (mean, rstd, attention's lse); nn/ never allocates.
 * - Results do not depend on the thread count beyond float rounding of the BLAS; our own
 *   reductions split work over outputs, never over the summed index.
 */
#ifndef GRIDLORA_NN_H
#define GRIDLORA_NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- matrix products ---------------------------------------------------------- */

/* out[N,OC] = inp[N,IC] . w[OC,IC]^T + b[OC]   (b may be NULL) */
void gl_linear_forward(float *out, const float *inp, const float *w, const float *b,
                       int64_t N, int64_t IC, int64_t OC);
/* dinp[N,IC] += dout . w;  dw[OC,IC] += dout^T . inp;  db[OC] += sum_n dout.
 * Any of dinp, dw, db may be NULL. */
void gl_linear_backward(float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, int64_t N, int64_t IC, int64_t OC);

/* The same two, keeping under GL_PRECISION_BF16 the input's rounding to bf16 in inp16
 * [N*IC], so that the layers reading one input and their backward round it once: the
 * forward writes it there (inp16_ready 0) or reads it from there (1, written by an
 * earlier call on the same, unchanged input); the backward reads it. Outside bf16, or
 * with inp16 NULL, they are gl_linear_forward and gl_linear_backward and inp16 is not
 * touched. The backward adds into dinp (dinp_acc 1) or overwrites it (0: the first
 * writer of a gradient buffer, which then needs no zeroing, nor the product a read of
 * the zeros). */
void gl_linear_forward_rounded(float *out, const float *inp, uint16_t *inp16, int inp16_ready, const float *w,
                               const float *b, int64_t N, int64_t IC, int64_t OC);
void gl_linear_backward_rounded(float *dinp, int dinp_acc, float *dw, float *db, const float *dout, const float *inp,
                                const uint16_t *inp16, const float *w, int64_t N, int64_t IC, int64_t OC);

/* ---- low-rank adapters (LoRA) -------------------------------------------------- */

/* out[N,OC] += scale * (inp[N,IC] . A[r,IC]^T) . B[OC,r]^T, the adapter's share of a
 * linear layer (W' = W + scale B A); h[N,r] = inp . A^T is written for backward. */
void gl_lora_forward(float *out, float *h, const float *inp, const float *A, const float *B,
                     int64_t N, int64_t IC, int64_t OC, int64_t r, float scale);
/* dB[OC,r] += scale * dout^T h;  dA[r,IC] += dh^T inp;  dinp[N,IC] += dh A, with
 * dh[N,r] = scale * dout B (scratch, overwritten). dinp, dA, dB may be NULL. */
void gl_lora_backward(float *dinp, float *dA, float *dB, float *dh, const float *dout,
                      const float *inp, const float *h, const float *A, const float *B,
                      int64_t N, int64_t IC, int64_t OC, int64_t r, float scale);
/* The same two, reading the input's bf16 rounding from inp16 (the base layer's, from
 * gl_linear_forward_rounded) instead of rounding inp again; inp16 NULL: none. Outside
 * bf16 inp16 is not read. B2 (NULL: none) is a second up-projection on the same h, as
 * Multi-DC's motion branch: out += scale * h (B + B2)^T, dB2 += scale * dout^T h, and
 * dh = scale * dout (B + B2), so that h, dA and dinp are made once for both. */
void gl_lora_forward_rounded(float *out, float *h, const float *inp, const uint16_t *inp16, const float *A,
                             const float *B, const float *B2, int64_t N, int64_t IC, int64_t OC, int64_t r,
                             float scale);
void gl_lora_backward_rounded(float *dinp, float *dA, float *dB, float *dB2, float *dh, const float *dout,
                              const float *inp, const uint16_t *inp16, const float *h, const float *A, const float *B,
                              const float *B2, int64_t N, int64_t IC, int64_t OC, int64_t r, float scale);

/* ---- dropout (on an adapter's input while it trains) ----------------------------- */

/* Inverted dropout: out[i] = keep(i) ? x[i] / (1 - p) : 0 for i < n, where keep(i) holds
 * with probability 1 - p and is a pure function of (seed, offset + i): the backward
 * recomputes the mask rather than storing it, and element g gets the same fate however
 * the elements are split into calls (offset: index of x[0] in the whole). p in [0, 1)
 * (asserted); p = 0 keeps everything, out = x exactly. out may be x. */
void gl_dropout_forward(float *out, const float *x, int64_t n, float p, uint64_t seed,
                        int64_t offset);
/* dx[i] += keep(i) ? dout[i] / (1 - p) : 0, keep as the forward with the same arguments. */
void gl_dropout_backward(float *dx, const float *dout, int64_t n, float p, uint64_t seed,
                         int64_t offset);

/* ---- normalisation ------------------------------------------------------------ */

/* Layer norm without affine: out = (x - mean) * rstd over C, per row of N.
 * Caches mean[N], rstd[N] for backward. */
void gl_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          int64_t N, int64_t C, float eps);
void gl_layernorm_backward(float *dinp, const float *dout, const float *inp,
                           const float *mean, const float *rstd, int64_t N, int64_t C);

/* RMS norm with weight (QK-norm: rows are (token, head), C the head size):
 * out = x * rstd * w[C], rstd = 1 / sqrt(mean(x^2) + eps). Caches rstd[N]. */
void gl_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w,
                        int64_t N, int64_t C, float eps);
/* dinp[N,C] and dw[C] (either may be NULL). */
void gl_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int64_t N, int64_t C);

/* ---- elementwise and softmax -------------------------------------------------- */

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), n elements. */
void gl_gelu_forward(float *out, const float *inp, int64_t n);
void gl_gelu_backward(float *dinp, const float *dout, const float *inp, int64_t n);

/* SiLU: x * sigmoid(x). */
void gl_silu_forward(float *out, const float *inp, int64_t n);
void gl_silu_backward(float *dinp, const float *dout, const float *inp, int64_t n);

/* Softmax over the last dimension: rows N of length C. Backward uses the output. */
void gl_softmax_forward(float *out, const float *inp, int64_t N, int64_t C);
void gl_softmax_backward(float *dinp, const float *dout, const float *out, int64_t N, int64_t C);

/* ---- attention ---------------------------------------------------------------- */

/* Sizes of one attention call: batch B, query length Tq, key length Tk, heads H,
 * head size D. q is [B,Tq,H*D], k and v are [B,Tk,H*D] (heads side by side in each
 * row, as a linear layer writes them); out is [B,Tq,H*D].
 * mask (optional) is uint8 [Tq,Tk] per batch item, 1 = may attend; mask_bstride is
 * the distance between batch items' masks (0: one mask for the whole batch). A query
 * row that may attend to nothing gets output 0 and passes no gradient. */
typedef struct gl_attn_dims {
    int64_t B, Tq, Tk, H, D;
} gl_attn_dims;

/* Floats of scratch gl_attention_forward and gl_attention_backward need with `threads`
 * OpenMP threads: a few score tiles per thread, independent of Tq x Tk (0 when any
 * size is 0). One buffer serves both calls. */
size_t gl_attention_scratch_floats(gl_attn_dims d, int threads);

/* Softmax(q k^T / sqrt(D)) v per head, flash-style: scores are made and used tile by
 * tile and never stored. lse [B,H,Tq] receives each query row's log-sum-exp of its
 * allowed scaled scores (-inf for a row that may attend nothing), which is all the
 * backward needs besides the inputs and out. scratch: at least
 * gl_attention_scratch_floats(d, gl_threads()) floats (may be NULL when that is 0). */
void gl_attention_forward(float *out, float *lse, float *scratch, const float *q, const float *k,
                          const float *v, const uint8_t *mask, int64_t mask_bstride,
                          gl_attn_dims d);
/* dq, dk, dv (same shapes as q, k, v; any may be NULL) from dout, the forward's out and
 * lse, and the same q, k, v and mask; the probabilities are recomputed tile by tile.
 * scratch: as for the forward. */
void gl_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *out, const float *lse, const float *q, const float *k,
                           const float *v, const uint8_t *mask, int64_t mask_bstride,
                           gl_attn_dims d);

/* ---- 3D rotary position embedding -------------------------------------------- */

/* The head size D is split into three even parts, rotated by frame, row and column
 * position: split[0] + split[1] + split[2] == D. gl_rope_default_split gives the
 * Wan-style split: rows and columns 2*floor(D/6) each, frames the rest. D must be even. */
void gl_rope_default_split(int64_t D, int64_t split[3]);

/* Fills cos and sin [T, D/2] for T tokens at positions pos [T,3] (frame, row, column).
 * Pair i = (x[2i], x[2i+1]) of a head belongs to the axis whose part holds it; within
 * an axis part of size d its frequency is theta^(-2j/d), j the pair's index there. */
void gl_rope_tables(float *cos_t, float *sin_t, const int32_t *pos, int64_t T, int64_t D,
                    const int64_t split[3], float theta);

/* x [B,T,H,D] rotated: out may equal inp (in place). */
void gl_rope_forward(float *out, const float *inp, const float *cos_t, const float *sin_t,
                     int64_t B, int64_t T, int64_t H, int64_t D);
/* dinp += rotation^T dout. */
void gl_rope_backward(float *dinp, const float *dout, const float *cos_t, const float *sin_t,
                      int64_t B, int64_t T, int64_t H, int64_t D);

/* ---- absolute position embedding --------------------------------------------- */

/* x [B,T,C] += a fixed sinusoidal embedding of each token's position pos [T,3] (frame,
 * row, column; the same positions RoPE uses). Axis a (0 frame, 1 row, 2 column) owns
 * channels [2fa, 2fa + 2f), f = C/6: channel 2fa + k gets sin(p w_k), 2fa + f + k gets
 * cos(p w_k), w_k = theta^(-k/f); channels from 6f on get nothing. No parameters: its
 * backward is the identity. */
void gl_abs_pos_add(float *x, const int32_t *pos, int64_t B, int64_t T, int64_t C, double theta);

/* ---- AdaLN modulation ----------------------------------------------------------- */

/* out[N,C] = x * (1 + scale) + shift. Token n's shift and scale are row rows[n] (rows
 * NULL: row n) of tensors whose rows lie mstride floats apart (slices of one [U, 6C]
 * modulation tensor: the model computes a row per distinct timestep, not per token). */
void gl_modulate_forward(float *out, const float *x, const float *shift, const float *scale, const int32_t *rows,
                         int64_t N, int64_t C, int64_t mstride);
/* dx[N,C] += dout (1 + scale); each row of dshift and dscale (stride mstride) += the
 * sum over the tokens reading it of dout and dout x. Any of the three may be NULL. The
 * same for any thread count. */
void gl_modulate_backward(float *dx, float *dshift, float *dscale, const float *dout, const float *x,
                          const float *scale, const int32_t *rows, int64_t N, int64_t C, int64_t mstride);

/* out[N,C] = res + gate * y, token n's gate row rows[n] (NULL: n) at row stride mstride.
 * out may equal res. The backward sums each gate row's gradient over its tokens. */
void gl_gated_residual_forward(float *out, const float *res, const float *y, const float *gate,
                               const int32_t *rows, int64_t N, int64_t C, int64_t mstride);
void gl_gated_residual_backward(float *dres, float *dy, float *dgate, const float *dout, const float *y,
                                const float *gate, const int32_t *rows, int64_t N, int64_t C, int64_t mstride);

/* ---- 3D patches ---------------------------------------------------------------- */

/* A video batch [B,F,H,W,C] (channels last) cut into patches of pt x ph x pw.
 * Tokens [B, (F/pt)(H/ph)(W/pw), pt*ph*pw*C], in (frame, row, column) order; each
 * token's vector in (dt, dy, dx, channel) order. F, H, W must divide by the patch. */
typedef struct gl_patch_dims {
    int64_t B, F, H, W, C;
    int64_t pt, ph, pw;
} gl_patch_dims;

/* Tokens per batch item and floats per token. */
int64_t gl_patch_tokens(gl_patch_dims d);
int64_t gl_patch_size(gl_patch_dims d);

void gl_patchify_forward(float *tokens, const float *video, gl_patch_dims d);
void gl_patchify_backward(float *dvideo, const float *dtokens, gl_patch_dims d);
void gl_unpatchify_forward(float *video, const float *tokens, gl_patch_dims d);
void gl_unpatchify_backward(float *dtokens, const float *dvideo, gl_patch_dims d);

/* ---- embeddings and loss ------------------------------------------------------ */

/* out[N,C] = table[ids[n]], table [V,C]; ids must lie in [0, V). */
void gl_embedding_forward(float *out, const int32_t *ids, const float *table,
                          int64_t N, int64_t V, int64_t C);
void gl_embedding_backward(float *dtable, const float *dout, const int32_t *ids,
                           int64_t N, int64_t V, int64_t C);

/* Masked mean squared error over n elements: sum m (p - y)^2 / sum m, mask m >= 0
 * (NULL: all ones). An all-zero mask gives 0 and no gradient. Summed in double, in a
 * fixed order, so the result does not depend on the thread count. */
double gl_mse_forward(const float *pred, const float *target, const float *mask, int64_t n);
/* gl_mse_forward's numerator sum m (p - y)^2 and denominator sum m, in the same order:
 * what data-parallel ranks add up before they divide, so the loss is the same however
 * a batch is split. */
void gl_mse_sums(const float *pred, const float *target, const float *mask, int64_t n, double *sq,
                 double *msum);
/* dpred += dloss * 2 m (p - y) / sum m */
void gl_mse_backward(float *dpred, const float *pred, const float *target, const float *mask,
                     int64_t n, float dloss);

/* The squared error of masked cell means, which a plain MSE weighs as one mode among
 * thousands: pred, target and mask [frames, H, W, C] (mask NULL: all ones), cells of
 * cell_h x cell_w pixels tiling each frame (H % cell_h == 0, W % cell_w == 0, asserted).
 * For each (frame, cell, channel) with sum m > 0, D = sum m (p - y) / sum m over the
 * cell's pixels: *sq = sum of D^2 over those groups, *groups = their number (ranks add
 * both before dividing). Summed in double in a fixed order: the same for any thread
 * count. */
void gl_cellmean_sums(const float *pred, const float *target, const float *mask, int64_t frames, int64_t H,
                      int64_t W, int64_t C, int64_t cell_h, int64_t cell_w, double *sq, int64_t *groups);
/* dpred += dloss * d(sum of D^2)/dpred = dloss * 2 D m / sum m, for every group. */
void gl_cellmean_backward(float *dpred, const float *pred, const float *target, const float *mask, int64_t frames,
                          int64_t H, int64_t W, int64_t C, int64_t cell_h, int64_t cell_w, float dloss);

#ifdef __cplusplus
}
#endif
#endif

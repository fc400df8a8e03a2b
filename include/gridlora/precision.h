/* gridlora/precision.h: the arithmetic of the linear layers' matrix products.
 *
 * GL_PRECISION_FP32 (the default): OpenBLAS sgemm, float32 throughout.
 * GL_PRECISION_BF16: the products of gl_linear_forward / gl_linear_backward (every
 * linear layer of the model, forward, input and weight gradients), of the LoRA adapters
 * on them (gl_lora_forward / gl_lora_backward) and attention's tile products (scores,
 * P v, and their backward) run through oneDNN's matmul with both
 * factors rounded to bfloat16 (8 significant bits) and float32 accumulation and output.
 * Parameters, gradients, AdamW moments and every other op (norms, attention's softmax and
 * statistics, losses) stay float32: the bf16 copies are made per call and thrown away,
 * so the master weights are float32.
 *
 *     gl_set_precision(GL_PRECISION_BF16);   // or GRIDLORA_PRECISION=bf16 in the env
 *     ...train or sample as usual...
 *
 * Accuracy: each factor of a bf16 product carries a relative rounding error up to
 * 2^-9 (0.2%); outputs of the model agree with float32 to about 1e-2 relative
 * (tests/test_precision.c states and checks the tolerances).
 * Thread safety: the setting is process-wide; set it before a step, not during one.
 * The bf16 path keeps a conversion workspace and oneDNN primitives for the shapes it
 * has seen (a few MB); gl_set_precision(GL_PRECISION_FP32) releases them.
 */
#ifndef GRIDLORA_PRECISION_H
#define GRIDLORA_PRECISION_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gl_precision {
    GL_PRECISION_FP32 = 0,
    GL_PRECISION_BF16 = 1,
} gl_precision;

/* Sets the precision of the linear layers. GL_EINVAL for an unknown value, or for
 * GL_PRECISION_BF16 when oneDNN cannot run bf16 matrix products on this CPU (the
 * precision then stays what it was). */
int gl_set_precision(gl_precision p);

/* The precision in force. On first use it is read from GRIDLORA_PRECISION ("fp32" or
 * "bf16"; unset, empty or unknown: fp32; bf16 on a CPU without it: fp32). */
gl_precision gl_get_precision(void);

/* "fp32" or "bf16". */
const char *gl_precision_name(gl_precision p);

#ifdef __cplusplus
}
#endif
#endif

/* pipeline/grid_masks.c: a layout's attention masks: input cells stay independent
 * (their queries read only their own video and prompt); output cells read every cell's
 * video but, like every cell, only the global prompt and their own. */
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/grid.h"

int gl_layout_masks(const gl_layout *l, gl_patch_dims d, const int32_t *text, int64_t text_len, int64_t L,
                    int32_t grid_id, uint8_t *self_mask, uint8_t *cross_mask) {
    int64_t T = 0;
    if (gl_grid_check(d, &T, NULL, 0) || text_len < 1 || text_len > L || text[0] != grid_id) return GL_EINVAL;
    if (l->no_masks) return 1;
    /* tokens in (frame, row, column) order over a patch grid of gh x gw per frame */
    const int64_t gh = d.H / d.ph, gw = d.W / d.pw;
    /* the segment of each text token: -1 the global prompt, c the prompt of cell c */
    int8_t *seg = malloc((size_t)text_len);
    if (!seg) return GL_ENOMEM;
    int8_t cur = -1;
    for (int64_t j = 0; j < text_len; j++) {
        if (text[j] > grid_id && text[j] <= grid_id + GL_GRID_CELLS) cur = (int8_t)(text[j] - grid_id - 1);
        seg[j] = cur;
    }
#define CELL_OF(i) ((int)(2 * ((i) / gw % gh >= gh / 2) + ((i) % gw >= gw / 2)))
    for (int64_t i = 0; i < T; i++) {
        int c = CELL_OF(i), input = l->cell[c].role == GL_CELL_INPUT;
        uint8_t *srow = self_mask + i * T, *crow = cross_mask + i * L;
        for (int64_t j = 0; j < T; j++) srow[j] = !input || CELL_OF(j) == c;
        /* Every cell, output cells too, reads only the global prompt and its own: video
         * tokens carry no absolute position (RoPE is relative), so an output cell that
         * read all four prompts could not tell which is its own. Measured on the shipped
         * model trained that way: swapping the effects' cells left the output unchanged. */
        for (int64_t j = 0; j < L; j++) crow[j] = j < text_len && (seg[j] < 0 || seg[j] == c);
    }
#undef CELL_OF
    free(seg);
    return 0;
}

int gl_layout_text_mask(const int32_t *text, int64_t text_len, int64_t L, int32_t grid_id, uint8_t *text_mask) {
    if (text_len < 1 || text_len > L || text[0] != grid_id) return GL_EINVAL;
    int8_t *seg = malloc((size_t)text_len);
    if (!seg) return GL_ENOMEM;
    int8_t cur = -1;
    for (int64_t j = 0; j < text_len; j++) {
        if (text[j] > grid_id && text[j] <= grid_id + GL_GRID_CELLS) cur = (int8_t)(text[j] - grid_id - 1);
        seg[j] = cur;
    }
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < L; j++)
            text_mask[i * L + j] = i < text_len && j < text_len && (seg[j] < 0 || seg[j] == seg[i]);
    free(seg);
    return 0;
}

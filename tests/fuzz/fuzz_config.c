/* tests/fuzz/fuzz_config.c: libFuzzer target for the model configuration JSON
 * (gl_dit_config_from_json, the form a weights file stores its model in). A configuration
 * that parses must survive gl_dit_config_to_json and back unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = malloc(size + 1);
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = 0; /* the API takes a C string: input stops at the first NUL */
    gl_dit_config cfg, back;
    char msg[256];
    if (gl_dit_config_from_json(json, &cfg, msg, sizeof msg) == GL_OK) {
        char *again = gl_dit_config_to_json(&cfg);
        if (!again) abort();
        if (gl_dit_config_from_json(again, &back, msg, sizeof msg) != GL_OK) abort();
        char *twice = gl_dit_config_to_json(&back);
        if (!twice || strcmp(again, twice) != 0) abort(); /* round trip is exact */
        free(twice);
        free(again);
    } else if (!msg[0]) {
        abort(); /* a failure always says why */
    }
    free(json);
    return 0;
}

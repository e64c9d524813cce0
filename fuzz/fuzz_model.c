/*
 * libFuzzer harness: the TwoLayerNet loader (tg_net_load) and the sizes
 * reader (tg_net_file_sizes).
 *
 * Input: a mode byte, then the file.  Mode bit 0 rewrites the last four
 * bytes as the CRC-32 of the rest, so that mutations get past the checksum
 * to the parts behind it; bit 1 loads into a 3-5-2 net instead of 3-4-2.
 * The file is written to a private temporary directory.
 *
 * Checked beyond the sanitizers: on error the net is unchanged, its graph
 * holds no error, and the message starts with the path; on success the
 * parameters are exactly the file's doubles, and the sizes reader agrees.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <tapegrad/nn.h>

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_model: check failed: %s: ", #cond);       \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

enum { HEADER = 48 };

static char dir[256], path[512];
static tg_net *nets[2];

static double get_f64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/tapegrad-fuzz-model-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
        snprintf(path, sizeof path, "%s/net.tgn", dir);
        nets[0] = tg_net_new(3, 4, 2, 1);
        nets[1] = tg_net_new(3, 5, 2, 1);
        CHECK(nets[0] && nets[1], "tg_net_new");
    }
    uint8_t mode = data[0];
    size_t n = size - 1;
    uint8_t *file = malloc(n ? n : 1);
    CHECK(file != NULL, "malloc");
    memcpy(file, data + 1, n);
    if ((mode & 1) && n >= 4) {
        uLong c = crc32(crc32(0L, Z_NULL, 0), file, (uInt)(n - 4));
        for (int i = 0; i < 4; i++) file[n - 4 + i] = (uint8_t)(c >> (8 * i));
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "fopen");
    if (n) CHECK(fwrite(file, 1, n, f) == n, "fwrite");
    CHECK(fclose(f) == 0, "fclose");

    tg_net *net = nets[(mode >> 1) & 1];
    size_t count = tg_net_param_count(net);
    double before[64], after[64];
    CHECK(count <= 64, "count");
    CHECK(tg_net_get_params(net, before) == TG_OK, "get params");

    tg_error err;
    tg_status st = tg_net_load(net, path, &err);
    CHECK(err.status == st, "status %d vs err %d", (int)st, (int)err.status);
    CHECK(tg_graph_status(tg_net_graph(net)) == TG_OK, "load left an error on the graph: %s",
          tg_graph_errmsg(tg_net_graph(net)));
    CHECK(tg_net_get_params(net, after) == TG_OK, "get params");
    size_t in = 0, hid = 0, out = 0;
    tg_error err2;
    tg_status st2 = tg_net_file_sizes(path, &in, &hid, &out, &err2);
    if (st == TG_OK) {
        CHECK(n == HEADER + 8 * count + 4, "accepted %zu bytes for %zu parameters", n, count);
        for (size_t i = 0; i < count; i++) {
            double d = get_f64(file + HEADER + 8 * i);
            CHECK(memcmp(&d, &after[i], sizeof d) == 0, "parameter %zu differs from the file", i);
        }
        CHECK(st2 == TG_OK && in == tg_net_input_size(net) && hid == tg_net_hidden_size(net) &&
              out == tg_net_output_size(net), "sizes reader disagrees");
        /* the loaded net computes (NaN weights are the file's business) */
        double x[3] = { 0.1, 0.2, 0.3 }, loss;
        CHECK(tg_net_batch(net, x, NULL, 1) == TG_OK, "batch");
        tg_net_batch_loss(net, &loss);
        tg_graph_clear_error(tg_net_graph(net));
    } else {
        size_t len = strlen(path);
        CHECK(strncmp(err.msg, path, len) == 0 && err.msg[len] == ':', "message: %s", err.msg);
        CHECK(memcmp(before, after, count * sizeof *before) == 0, "the net changed on error");
        CHECK(st == TG_ERR_FORMAT || st == TG_ERR_SHAPE || st == TG_ERR_IO, "status %d", (int)st);
        if (st2 != TG_OK) {
            CHECK(strncmp(err2.msg, path, len) == 0 && err2.msg[len] == ':', "sizes message: %s", err2.msg);
        }
    }
    /* restore for the next input */
    double *p = tg_tensor_data(tg_net_graph(net), tg_find(tg_net_graph(net), "W1"));
    CHECK(p != NULL, "W1");
    memcpy(p, before, count * sizeof *p);
    free(file);
    return 0;
}

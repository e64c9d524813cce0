#include "data_dir.h"

#include <stdio.h>
#include <stdlib.h>

/* The directory a person named, by flag or variable: it has the data, or
 * the answer is an error saying which of the two was wrong and why. */
static const char *named(const char *dir, const char *how, tg_error *err)
{
    tg_error why;
    if (tg_mnist_probe(dir, &why) == TG_OK) return dir;
    if (err) {
        err->status = why.status;
        snprintf(err->msg, sizeof err->msg, "MNIST data not found (%s): %.400s", how, why.msg);
    }
    return NULL;
}

const char *data_dir_find(const char *given, const char *fallback, tg_error *err)
{
    if (given) return named(given, "--data", err);
    const char *env = getenv("TAPEGRAD_MNIST");
    if (env && *env) return named(env, "$TAPEGRAD_MNIST", err);
    const char *local = "../shared/data/mnist";
    if (tg_mnist_probe(local, NULL) == TG_OK) return local;
    if (fallback && tg_mnist_probe(fallback, NULL) == TG_OK) return fallback;
    if (err) {
        err->status = TG_ERR_IO;
        snprintf(err->msg, sizeof err->msg,
                 "MNIST data not found in %s (relative to the current directory)%s%.300s; "
                 "$TAPEGRAD_MNIST is not set; name the directory with --data DIR or TAPEGRAD_MNIST",
                 local, fallback ? " nor in " : "", fallback ? fallback : "");
    }
    return NULL;
}

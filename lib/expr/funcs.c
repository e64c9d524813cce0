/* powc is not here: its exponent is a number, not a node (parse.c reads
 * it); var, const and custom are leaves or registered by name. */
#include "funcs.h"

#include <string.h>

#include "tapegrad/tensor.h"

/* convert(x): x as float64, the dtype of the language's numbers (a float32
 * tensor read into an expression is widened exactly). */
static tg_node convert_to_f64(tg_graph *g, tg_node x)
{
    return tg_convert(g, x, TG_F64);
}

#define UNARY(f) { #f, 1, tg_##f, NULL }
#define BINARY(f) { #f, 2, NULL, tg_##f }

static const expr_func funcs[] = {
    BINARY(add), BINARY(mul), UNARY(exp), UNARY(recip), BINARY(pow),
    UNARY(log), UNARY(tanh), UNARY(sigmoid), UNARY(relu),
    UNARY(sqrt), UNARY(cbrt), UNARY(sin), UNARY(cos), UNARY(tan),
    UNARY(asin), UNARY(acos), UNARY(atan), UNARY(sinh), UNARY(cosh),
    UNARY(asinh), UNARY(acosh), UNARY(atanh), UNARY(expm1), UNARY(log1p),
    UNARY(log2), UNARY(log10), UNARY(erf), UNARY(erfc), UNARY(softplus),
    UNARY(abs), BINARY(atan2), BINARY(hypot), BINARY(min), BINARY(max),
    UNARY(neg), BINARY(sub), BINARY(div), UNARY(sigmoid_decomposed),
    BINARY(matmul), UNARY(softmax), UNARY(sum), UNARY(mean),
    BINARY(softmax_cross_entropy), { "convert", 1, convert_to_f64, NULL },
};

const expr_func *expr_func_find(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof funcs / sizeof funcs[0]; k++)
        if (strlen(funcs[k].name) == len && memcmp(funcs[k].name, name, len) == 0) return &funcs[k];
    return NULL;
}

const expr_func *expr_funcs(size_t *n)
{
    *n = sizeof funcs / sizeof funcs[0];
    return funcs;
}

/* The sigmoid demo's results as JSON: numbers in full (shortest text that
 * reads back exactly), null where a value is not a number. */
#include "json.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "demo_support.h"

static const char *const form_key[NFORMS] = {
    [DECOMPOSED] = "decomposed", [FUSED] = "fused", [TEXTBOOK] = "textbook",
};

static void json_num(double v)
{
    json_number(stdout, v);
}

void print_json(rig *r, double from, double to, long steps, const search_result *sr)
{
    printf("{\n  \"reference\": \"long double e/(1+e)^2, e = exp(-|x|)\",\n");
    printf("  \"long_double_mantissa_bits\": %d,\n", LDBL_MANT_DIG);
    printf("  \"nodes\": {\"decomposed\": %zu, \"decomposed_ops\": %d, \"fused\": %zu},\n",
           r->decomposed_nodes, r->nops, r->fused_nodes);
    printf("  \"table\": [");
    for (long i = 0; i < steps; i++) {
        double x = grid_x(from, to, steps, i);
        sample s = rig_eval(r, x);
        printf("%s\n    {\"x\": ", i ? "," : "");
        json_num(x);
        printf(", \"y\": ");
        json_num(s.y);
        printf(", \"reference\": ");
        json_num((double)s.ref);
        for (int f = 0; f < NFORMS; f++) {
            printf(", \"%s\": {\"slope\": ", form_key[f]);
            json_num(s.d[f]);
            printf(", \"ulps\": ");
            long long u = ulps_apart(s.d[f], s.ref);
            if (u < 0) printf("null");
            else printf("%lld", u);
            printf(", \"rel_error\": ");
            json_num(rel_error(s.d[f], s.ref));
            printf("}");
        }
        printf("}");
    }
    printf("\n  ],\n  \"search\": {\"limit\": ");
    json_num(sr->limit);
    printf(", \"step\": ");
    json_num(sr->step);
    printf(", \"accurate_below\": ");
    json_num(ACCURATE);
    printf("},\n  \"breakdown\": {");
    for (int f = 0; f < NFORMS; f++) {
        static const char *const side_key[NSIDES] = { "negative", "positive" };
        printf("%s\n    \"%s\": {", f ? "," : "", form_key[f]);
        for (int side = 0; side < NSIDES; side++) {
            printf("%s\"%s\": {", side ? ", " : "", side_key[side]);
            for (int l = 0; l < NLEVELS; l++) {
                const breakdown *bd = &sr->b[f][side][l];
                printf("%s\"%s\": ", l ? ", " : "", level_name[l]);
                if (bd->found) json_num(bd->first_bad);
                else printf("null");
            }
            printf("}");
        }
        printf(", \"worst_rel_error_where_accurate\": {\"negative\": ");
        json_num(sr->worst_err[f][NEGATIVE]);
        printf(", \"positive\": ");
        json_num(sr->worst_err[f][POSITIVE]);
        printf("}, \"everyday\": {\"max_abs_x\": ");
        json_num(EVERYDAY);
        printf(", \"worst_ulps\": ");
        if (sr->worst_ulps_everyday[f] == LLONG_MAX) printf("null");
        else printf("%lld", sr->worst_ulps_everyday[f]);
        printf(", \"worst_rel_error\": ");
        json_num(sr->worst_err_everyday[f]);
        printf("}");
        printf("}");
    }
    printf("\n  }\n}\n");
}

/* The sigmoid demo's --json output. */
#ifndef SIGMOID_JSON_H
#define SIGMOID_JSON_H

#include "rig.h"
#include "search.h"

/* The table over `steps` points from..to, the node counts and the search
 * results, as one JSON object on stdout. */
void print_json(rig *r, double from, double to, long steps, const search_result *sr);

#endif

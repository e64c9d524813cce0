/*
 * The two plain tapes, and one workload written once for both.  A
 * workload's file defines PLAIN_TEMPLATE as the name of a header written
 * with PT(f) for the tape's functions and PW(name) for the functions it
 * defines, then includes this file: the template is included twice, once
 * with PT(f) = il_f (inltape.h, folded into the caller) and PW(name) =
 * inline_name, once with PT(f) = bt_f (baretape.h, out-of-line calls) and
 * PW(name) = bare_name.  Both tapes have the type il_tape, ids il_id.
 */
#include "baretape.h"
#include "inltape.h"

#define PT(f) il_##f
#define PW(name) inline_##name
#include PLAIN_TEMPLATE
#undef PT
#undef PW

#define PT(f) bt_##f
#define PW(name) bare_##name
#include PLAIN_TEMPLATE
#undef PT
#undef PW

#undef PLAIN_TEMPLATE

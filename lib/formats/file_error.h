/* Reporting through a caller's tg_error (tapegrad.h): the file readers and
 * writers report there rather than on a graph.  NULL err is allowed. */
#ifndef TG_FILE_ERROR_H
#define TG_FILE_ERROR_H

#include "tapegrad/tapegrad.h"

tg_status tg__error_set(tg_error *err, tg_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void tg__error_clear(tg_error *err);

#endif

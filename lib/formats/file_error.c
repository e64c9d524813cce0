/* Reporting through a caller's tg_error. */
#include <stdarg.h>
#include <stdio.h>

#include "file_error.h"

tg_status tg__error_set(tg_error *err, tg_status s, const char *fmt, ...)
{
    if (err) {
        err->status = s;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

void tg__error_clear(tg_error *err)
{
    if (err) {
        err->status = TG_OK;
        err->msg[0] = '\0';
    }
}

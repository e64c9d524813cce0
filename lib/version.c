/* The version the library was built as, for programs to check at run time
 * against the headers they were compiled with. */
#include <tapegrad/tapegrad.h>

const char *tg_version(void)
{
    return TG_VERSION_STRING;
}

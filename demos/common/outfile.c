#include "outfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool outfile_open(outfile *o, const char *prog, const char *path)
{
    o->path = path;
    o->tmp = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: cannot write %s: it is a directory\n", prog, path);
        return false;
    }
    size_t n = strlen(path);
    o->tmp = malloc(n + sizeof ".XXXXXX");
    if (!o->tmp) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return false;
    }
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".XXXXXX", sizeof ".XXXXXX");
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return false;
    }
    /* mkstemp makes it 0600; the finished file gets what fopen would give. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);
    return true;
}

bool outfile_commit(outfile *o, const char *prog)
{
    if (rename(o->tmp, o->path) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, o->path, strerror(errno));
        outfile_discard(o);
        return false;
    }
    free(o->tmp);
    o->tmp = NULL;
    return true;
}

void outfile_discard(outfile *o)
{
    if (!o->tmp) return;
    remove(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
}

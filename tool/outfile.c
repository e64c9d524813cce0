#include "outfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo_support.h"

/* "path.XXXXXX", or NULL. */
static char *temp_beside(const char *path, int *fd)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp) return NULL;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    *fd = mkstemp(tmp);
    if (*fd < 0) {
        free(tmp);
        return NULL;
    }
    /* mkstemp makes it 0600; the file should get what fopen would give it */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(*fd, 0666 & ~mask);
    return tmp;
}

int outfile_open(outfile *o, const char *path)
{
    int fd = -1;
    o->path = path;
    o->tmp = temp_beside(path, &fd);
    o->f = o->tmp ? fdopen(fd, "w") : NULL;
    if (!o->f) {
        fprintf(stderr, "tapegrad: cannot write %s: %s\n", path, strerror(errno));
        if (o->tmp) {
            if (fd >= 0) close(fd);
            unlink(o->tmp);
        }
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    return 0;
}

void outfile_abort(outfile *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->tmp);
    o->f = NULL;
    o->tmp = NULL;
}

int outfile_commit(outfile *o)
{
    int failed = ferror(o->f);
    failed |= fclose(o->f) != 0;
    o->f = NULL;
    if (failed || rename(o->tmp, o->path) != 0) {
        fprintf(stderr, "tapegrad: cannot write %s: %s\n", o->path, strerror(errno ? errno : EIO));
        outfile_abort(o);
        return -1;
    }
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

int write_dot_file(tg_graph *g, const char *path)
{
    const char *ext = extension(path);
    bool picture = !strcmp(ext, "svg") || !strcmp(ext, "png");
    outfile dot;
    if (outfile_open(&dot, path) != 0) return -1;
    if (tg_graph_write_dot(g, dot.f) != TG_OK) {
        fprintf(stderr, "tapegrad: writing %s: %s\n", path, tg_graph_errmsg(g));
        outfile_abort(&dot);
        return -1;
    }
    if (!picture) return outfile_commit(&dot);

    /* DOT text in one temporary file, the picture drawn into another */
    fflush(dot.f);
    outfile pic;
    if (outfile_open(&pic, path) != 0) {
        outfile_abort(&dot);
        return -1;
    }
    int drawn = render_graphviz(ext, dot.tmp, pic.tmp);
    outfile_abort(&dot);
    if (drawn != 0) {
        if (drawn == 1)
            fprintf(stderr, "tapegrad: --dot %s: Graphviz's dot is not installed (Debian: apt-get install "
                            "graphviz); a .dot file needs no Graphviz\n", path);
        else
            fprintf(stderr, "tapegrad: --dot %s: dot could not draw the graph\n", path);
        outfile_abort(&pic);
        return -1;
    }
    return outfile_commit(&pic);
}

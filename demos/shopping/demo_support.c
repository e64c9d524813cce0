#include "demo_support.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

/* NaN and infinities spelled the same on every C library. */
static bool special(char *buf, size_t len, double v)
{
    if (isnan(v)) snprintf(buf, len, "NaN");
    else if (isinf(v)) snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else return false;
    return true;
}

const char *num_str(char *buf, size_t len, double v)
{
    if (!buf || len == 0) return "";
    if (special(buf, len, v)) return buf;
    if (v == 0) v = 0;  /* -0 reads as 0 */
    snprintf(buf, len, "%.15g", v);
    return buf;
}

const char *num_exact(char *buf, size_t len, double v)
{
    if (!buf || len == 0) return "";
    if (special(buf, len, v)) return buf;
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

int render_graphviz(const char *format, const char *in, const char *out)
{
    char type[16];
    snprintf(type, sizeof type, "-T%s", format);
    char *argv[] = { "dot", type, "-o", (char *)out, (char *)in, NULL };
    pid_t pid;
    int err = posix_spawnp(&pid, "dot", NULL, NULL, argv, environ);
    if (err == ENOENT) return 1;
    if (err != 0) {
        fprintf(stderr, "cannot run dot: %s\n", strerror(err));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return 1;  /* a shell's "not found" */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int write_graph_picture(tg_graph *g, const char *path, FILE *note)
{
    const char *ext = extension(path);
    int picture = !strcmp(ext, "png") || !strcmp(ext, "svg") || !strcmp(ext, "pdf");

    /* For a picture the DOT text goes to the same name with .dot. */
    size_t stem = picture ? (size_t)(ext - 1 - path) : strlen(path);
    char *dot_path = malloc(stem + 5);
    if (!dot_path) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    memcpy(dot_path, path, stem);
    strcpy(dot_path + stem, picture ? ".dot" : "");

    int rc = -1;
    FILE *f = fopen(dot_path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", dot_path, strerror(errno));
        goto done;
    }
    tg_status s = tg_graph_write_dot(g, f);
    if (fclose(f) != 0 && s == TG_OK) s = TG_ERR_IO;
    if (s != TG_OK) {
        fprintf(stderr, "writing %s failed: %s\n", dot_path,
                tg_graph_status(g) != TG_OK ? tg_graph_errmsg(g) : tg_status_str(s));
        goto done;
    }
    if (!picture) {
        fprintf(note, "Graph written to %s (render it with: dot -Tpng %s -o graph.png)\n", dot_path, dot_path);
        rc = 0;
        goto done;
    }
    switch (render_graphviz(ext, dot_path, path)) {
    case 0:
        fprintf(note, "Graph drawn in %s (DOT text in %s)\n", path, dot_path);
        rc = 0;
        break;
    case 1:
        fprintf(note, "Graphviz is not installed, so %s was not drawn; the DOT text is in %s.\n"
               "Install Graphviz (Debian: apt-get install graphviz) and run: dot -T%s %s -o %s\n",
               path, dot_path, ext, dot_path, path);
        rc = 0;
        break;
    default:
        fprintf(stderr, "dot could not render %s into %s\n", dot_path, path);
        break;
    }
done:
    free(dot_path);
    return rc;
}

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

void json_number(FILE *f, double v)
{
    char b[40];
    fputs(isfinite(v) ? num_exact(b, sizeof b, v) : "null", f);
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

/* Run `dot -T<format> -o out in`.  0 rendered, 1 Graphviz not installed,
 * -1 it ran and failed. */
static int render(const char *prog, const char *format, const char *in, const char *out)
{
    char type[16];
    snprintf(type, sizeof type, "-T%s", format);
    char *argv[] = { "dot", type, "-o", (char *)out, (char *)in, NULL };
    pid_t pid;
    int err = posix_spawnp(&pid, "dot", NULL, NULL, argv, environ);
    if (err == ENOENT) return 1;
    if (err != 0) {
        fprintf(stderr, "%s: cannot run dot: %s\n", prog, strerror(err));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return 1;  /* a shell's "not found" */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

bool picture_open(picture *p, const char *prog, const char *path)
{
    *p = (picture){ 0 };
    const char *ext = extension(path);
    if (!strcmp(ext, "png") || !strcmp(ext, "svg") || !strcmp(ext, "pdf")) p->format = ext;

    /* For a picture the DOT text goes to the same name with .dot. */
    size_t stem = p->format ? (size_t)(ext - 1 - path) : strlen(path);
    p->dot_path = malloc(stem + 5);
    if (!p->dot_path) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return false;
    }
    memcpy(p->dot_path, path, stem);
    strcpy(p->dot_path + stem, p->format ? ".dot" : "");
    if (!outfile_open(&p->dot, prog, p->dot_path) ||
        (p->format && !outfile_open(&p->image, prog, path))) {
        picture_discard(p);
        return false;
    }
    return true;
}

void picture_discard(picture *p)
{
    outfile_discard(&p->dot);
    outfile_discard(&p->image);
    free(p->dot_path);
    p->dot_path = NULL;
}

int picture_write(picture *p, const char *prog, tg_graph *g, FILE *note)
{
    int rc = -1;
    FILE *f = fopen(p->dot.tmp, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, p->dot_path, strerror(errno));
        goto done;
    }
    tg_status s = tg_graph_write_dot(g, f);
    if (fclose(f) != 0 && s == TG_OK) s = TG_ERR_IO;
    if (s != TG_OK) {
        fprintf(stderr, "%s: writing %s failed: %s\n", prog, p->dot_path,
                tg_graph_status(g) != TG_OK ? tg_graph_errmsg(g) : tg_status_str(s));
        goto done;
    }
    if (!p->format) {
        if (!outfile_commit(&p->dot, prog)) goto done;
        fprintf(note, "Graph written to %s (render it with: dot -Tpng %s -o graph.png)\n",
                p->dot_path, p->dot_path);
        rc = 0;
        goto done;
    }
    switch (render(prog, p->format, p->dot.tmp, p->image.tmp)) {
    case 0:
        if (!outfile_commit(&p->dot, prog) || !outfile_commit(&p->image, prog)) break;
        fprintf(note, "Graph drawn in %s (DOT text in %s)\n", p->image.path, p->dot_path);
        rc = 0;
        break;
    case 1:
        if (!outfile_commit(&p->dot, prog)) break;
        fprintf(note, "Graphviz is not installed, so %s was not drawn; the DOT text is in %s.\n"
                "Install Graphviz (Debian: apt-get install graphviz) and run: dot -T%s %s -o %s\n",
                p->image.path, p->dot_path, p->format, p->dot_path, p->image.path);
        rc = 0;
        break;
    default:
        fprintf(stderr, "%s: dot could not render %s into %s\n", prog, p->dot_path, p->image.path);
        break;
    }
done:
    picture_discard(p);
    return rc;
}

/*
 * Graphviz reads what tg_graph_write_dot writes: each sample graph is
 * rendered by `dot`, and any error or warning fails the test.  The demos'
 * --dot FILE.png / FILE.svg produce real pictures.  Skipped (exit 77)
 * where Graphviz is not installed.
 *
 * Usage: test_dot_render SHOPPING SIGMOID
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tapegrad/tapegrad.h>

#include "capture.h"
#include "dot_check.h"
#include "runner.h"
#include "scratch.h"

extern char **environ;

static const char *shopping_path, *sigmoid_path;
static char dir[] = "/tmp/tg-render-XXXXXX";

/* Run argv with stderr into err_path; the exit status, or -1. */
static int run(char *const argv[], const char *err_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) return -1;
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Render g's DOT with Graphviz; fail on any complaint. */
static void assert_renders(tg_graph *g, const char *name)
{
    ck_assert_ptr_nonnull(g);
    char dot_path[128], svg_path[128], err_path[128];
    snprintf(dot_path, sizeof dot_path, "%s/%s.dot", dir, name);
    snprintf(svg_path, sizeof svg_path, "%s/%s.svg", dir, name);
    snprintf(err_path, sizeof err_path, "%s/%s.err", dir, name);
    FILE *f = fopen(dot_path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot(g, f), TG_OK);
    ck_assert_int_eq(fclose(f), 0);
    char *argv[] = { "dot", "-Tsvg", "-o", svg_path, dot_path, NULL };
    int rc = run(argv, err_path);
    char *err = read_text(err_path);
    char *text = read_text(dot_path);
    ck_assert_msg(rc == 0 && err[0] == '\0', "dot exited %d on %s:\n%s\n--- DOT ---\n%s", rc, name, err, text);
    char *svg = read_text(svg_path);
    ck_assert_ptr_nonnull(strstr(svg, "<svg"));
    free(svg);
    free(text);
    free(err);
    tg_graph_free(g);
}

START_TEST(sample_graphs_render_cleanly)
{
    assert_renders(graph_orange(true), "orange");
    assert_renders(graph_orange(false), "orange-forward");
    assert_renders(graph_nested_groups(), "groups");
    assert_renders(graph_sigmoid_layer(), "sigmoid");
    assert_renders(graph_tricky_name(), "tricky");
    assert_renders(graph_unreadable_names(), "unreadable");
    assert_renders(graph_tensor(), "tensor");
}
END_TEST

START_TEST(shopping_draws_a_png)
{
    char png[128], args[256];
    snprintf(png, sizeof png, "%s/shopping.png", dir);
    snprintf(args, sizeof args, "--orange --no-pause --dot '%s'", png);
    capture c = run_demo(shopping_path, args, 1);
    ck_assert_int_eq(c.status, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "Graph drawn in"));
    FILE *f = fopen(png, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char magic[8] = { 0 };
    ck_assert_int_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    ck_assert_int_eq(memcmp(magic, "\x89PNG\r\n\x1a\n", 8), 0);
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_draws_an_svg_with_the_layer_box)
{
    char svg_path[128], args[256];
    snprintf(svg_path, sizeof svg_path, "%s/sigmoid.svg", dir);
    snprintf(args, sizeof args, "--explain 1 --dot '%s'", svg_path);
    capture c = run_demo(sigmoid_path, args, 1);
    ck_assert_int_eq(c.status, 0);
    char *svg = read_text(svg_path);
    ck_assert_ptr_nonnull(strstr(svg, "<svg"));
    ck_assert_ptr_nonnull(strstr(svg, "Sigmoid layer"));
    free(svg);
    capture_free(&c);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SHOPPING SIGMOID\n", argv[0]);
        return 77;
    }
    shopping_path = argv[1];
    sigmoid_path = argv[2];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char err_path[64];
    snprintf(err_path, sizeof err_path, "%s/version.err", dir);
    char *version[] = { "dot", "-V", NULL };
    if (run(version, err_path) != 0) {
        fprintf(stderr, "Graphviz's dot is not installed: skipped\n");
        remove(err_path);
        rmdir(dir);
        return 77;
    }

    Suite *s = suite_create("dot-render");
    TCase *tc = tcase_create("graphviz");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sample_graphs_render_cleanly);
    tcase_add_test(tc, shopping_draws_a_png);
    tcase_add_test(tc, sigmoid_draws_an_svg_with_the_layer_box);
    suite_add_tcase(s, tc);
    int status = run_suite(s);
    scratch_remove(dir);
    return status;
}

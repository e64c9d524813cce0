/*
 * The version in the header, in the library and in meson.build are one.
 *
 * Usage: test_version VERSION (meson's project version)
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "runner.h"

static const char *meson_version;

START_TEST(header_macros_are_meson_version)
{
    int major = -1, minor = -1, patch = -1, used = 0;
    ck_assert_int_eq(sscanf(meson_version, "%d.%d.%d%n", &major, &minor, &patch, &used), 3);
    ck_assert_msg(meson_version[used] == '\0', "meson version '%s' is not MAJOR.MINOR.PATCH",
                  meson_version);
    ck_assert_int_eq(TG_VERSION_MAJOR, major);
    ck_assert_int_eq(TG_VERSION_MINOR, minor);
    ck_assert_int_eq(TG_VERSION_PATCH, patch);
    ck_assert_str_eq(TG_VERSION_STRING, meson_version);
}
END_TEST

START_TEST(run_time_version_is_meson_version)
{
    ck_assert_str_eq(tg_version(), meson_version);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s VERSION\n", argv[0]);
        return 1;
    }
    meson_version = argv[1];
    Suite *s = suite_create("version");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, header_macros_are_meson_version);
    tcase_add_test(tc, run_time_version_is_meson_version);
    suite_add_tcase(s, tc);
    return run_suite(s);
}

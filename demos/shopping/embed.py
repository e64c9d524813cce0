#!/usr/bin/env python3
"""Turn page.html into a C header: the text before and after its line
/*DATA*/ as html_head and html_tail, arrays of lines ending in NULL (one
literal would pass the 4095 characters ISO C promises)."""
import sys

src, out = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
head, tail = text.split("/*DATA*/\n", 1)


def c_string(name, s):
    lines = s.encode("utf-8").decode("latin-1").splitlines(keepends=True)
    body = "".join('    "' + "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\?' else "\\%03o" % ord(c) for c in line) + '",\n'
        for line in lines)
    return "static const char *const %s[] = {\n%s    NULL,\n};\n" % (name, body)


with open(out, "w") as f:
    f.write("/* Generated from page.html by embed.py. */\n")
    f.write(c_string("html_head", head))
    f.write(c_string("html_tail", tail))

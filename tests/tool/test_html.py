#!/usr/bin/env python3
"""tapegrad --html in a real headless browser (Debian's chromium): the page
loads without script errors, keys and buttons step through it and change
what it shows, Play advances on its own, and a screenshot of the final
step is not blank; and shopping --html's page of the book's graph runs.
Skipped (77) where chromium is not installed.

    test_html.py TAPEGRAD [SHOPPING]
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

TAPEGRAD = sys.argv[1]
SHOPPING = sys.argv[2] if len(sys.argv) > 2 else None
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    print("chromium is not installed: skipped")
    sys.exit(77)
failures = []


def check(name, cond, detail=""):
    print(("ok   %s" if cond else "FAIL %s " + detail[:2000]) % name)
    if not cond:
        failures.append(name)


def chromium(url, *flags):
    # --no-sandbox: CI runs as root; the profile is a fresh directory
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--user-data-dir=" + profile, "--virtual-time-budget=5000", *flags, url],
                           capture_output=True, text=True, timeout=120)
    return p.stdout


def text_of(dom, ident):
    m = re.search(r'id="%s"[^>]*>(.*?)</' % ident, dom, re.S)
    return m.group(1) if m else None


def png_ink(path):
    """The fraction of pixels that are not white, decoding the PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, ink = bytearray(stride), 0
    for y in range(height):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: row[i] = (row[i] + a) & 255
            elif f == 2: row[i] = (row[i] + b) & 255
            elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        ink += sum(1 for x in range(0, stride, bpp) if min(row[x:x + 3]) < 200)
        prev = row
    return ink / (width * height)


with tempfile.TemporaryDirectory() as d:
    page = os.path.join(d, "price.html")
    subprocess.run([TAPEGRAD, "--html", page, "price = (apple*apple_num + orange*orange_num) * tax",
                    "apple=100", "apple_num=2", "orange=150", "orange_num=3", "tax=1.1"],
                   check=True, capture_output=True)
    url = "file://" + page

    dom = chromium(url + "#press=ArrowRight,Space,Next,Next,ArrowLeft", "--dump-dom")
    check("the page loads and runs without a script error", "<svg" in dom and "data-error" not in dom.split(
        "<body", 1)[-1].split(">", 1)[0], dom[:300])
    check("ArrowRight, Space, Next, Next, ArrowLeft: step 3", text_of(dom, "counter") == "step 3 of 18 (forward)",
          str(text_of(dom, "counter")))
    check("step 3's ledger line is shown", "step 3/9  orange = 150   (variable)" in (text_of(dom, "ledger") or ""),
          str(text_of(dom, "ledger")))
    shown = re.findall(r'class="value"[^>]*>([^<]+)<', dom)
    check("forward values have appeared on the edges of the nodes computed", sorted(shown) == ["100", "150", "2"],
          str(shown))

    dom = chromium(url + "#press=Play", "--dump-dom")
    m = re.search(r"step (\d+) of 18", text_of(dom, "counter") or "")
    check("Play steps on by itself", m is not None and int(m.group(1)) >= 3, str(text_of(dom, "counter")))

    shot = os.path.join(d, "final.png")
    chromium(url + "#final", "--window-size=900,560", "--screenshot=" + shot)
    ink = png_ink(shot) if os.path.exists(shot) else 0.0
    check("a screenshot of the final step is not blank (%.1f%% ink)" % (100 * ink), ink > 0.01)
    blank = os.path.join(d, "blank.png")
    open(os.path.join(d, "blank.html"), "w").write("<!DOCTYPE html><title>blank</title>")
    chromium("file://" + os.path.join(d, "blank.html"), "--window-size=900,560", "--screenshot=" + blank)
    check("and the measure tells a blank page from it", os.path.exists(blank) and png_ink(blank) < 0.001)

    # The shopping demo writes the same page for the book's graph.
    if SHOPPING:
        spage = os.path.join(d, "shopping.html")
        subprocess.run([SHOPPING, "--orange", "--no-pause", "--html", spage], check=True, capture_output=True)
        dom = chromium("file://" + spage + "#press=ArrowRight,ArrowRight", "--dump-dom")
        check("shopping --html: the page runs", "<svg" in dom and "data-error" not in dom.split(
            "<body", 1)[-1].split(">", 1)[0], dom[:300])
        check("shopping --html: two steps of the nine nodes' 18", text_of(dom, "counter") == "step 2 of 18 (forward)",
              str(text_of(dom, "counter")))

print("%d failed" % len(failures) if failures else "all passed")
sys.exit(1 if failures else 0)

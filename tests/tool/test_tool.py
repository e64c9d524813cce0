#!/usr/bin/env python3
"""The tapegrad command as a person runs it: the book's numbers, --json read
by a JSON parser, --at - against one run per point, --step, --check, the
errors and their exit codes, output files that are whole or absent, and the
interactive mode driven through a pseudo-terminal.

    test_tool.py TAPEGRAD VERSION
"""
import json
import math
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

TAPEGRAD, VERSION = sys.argv[1], sys.argv[2]
APPLE_ORANGE = ["price = (apple*apple_num + orange*orange_num) * tax",
                "apple=100", "apple_num=2", "orange=150", "orange_num=3", "tax=1.1"]
failures = []


def run(*args, stdin=None):
    p = subprocess.run([TAPEGRAD, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL %s %s" % (name, detail))
    else:
        print("ok   %s" % name)


# ------------------------------------------------------------ the book

rc, out, err = run(*APPLE_ORANGE)
check("apple and orange: the book's numbers, as a person writes them", rc == 0 and out ==
      "price = 715\n"
      "  d price/d apple       2.2\n"
      "  d price/d apple_num   110\n"
      "  d price/d orange      3.3\n"
      "  d price/d orange_num  165\n"
      "  d price/d tax         650\n", out + err)

rc, out, err = run("apple = 100; apple_num = 2; tax = 1.1\nprice = apple*apple_num*tax")
check("apple alone, variables defined by statements", rc == 0 and out ==
      "price = 220\n  d price/d apple      2.2\n  d price/d apple_num  110\n  d price/d tax        200\n", out + err)

rc, out, err = run("--exact", "a*b", "a=1.1", "b=3")
check("--exact prints every digit", rc == 0 and out.startswith("f = 3.3000000000000003\n"), out)

rc, out, err = run("y = sigmoid(x)", "x=0")
check("sigmoid's slope at 0 is 1/4", rc == 0 and "d y/d x  0.25\n" in out, out)

rc, out, err = run("f = x*y", stdin="")
check("the expression piped in", run(stdin="x = 2; y = 3; x*y")[1].startswith("f = 6\n"))

# ------------------------------------------------------------ --json

rc, out, err = run("--json", *APPLE_ORANGE)
doc = json.loads(out) if rc == 0 else {}
check("--json: one object with the fixed keys", rc == 0 and doc.get("value") == 715.0000000000001 or
      doc.get("value") == 715, out)
check("--json: the gradient by variable name", doc.get("gradient", {}).get("orange_num") == 165.0 and
      abs(doc["gradient"]["apple"] - 2.2) < 1e-15 and len(doc["gradient"]) == 5, out)
for x, want in (("0", {"value": 0, "gradient": "inf"}), ("-1", {"value": "nan", "gradient": "nan"}),
                ("-0", {"value": 0, "gradient": "-inf"})):
    rc, out, err = run("--json", "sqrt(x)", "x=" + x)
    doc = json.loads(out) if rc == 0 else {}
    check("--json at x=%s: non-finite numbers as strings" % x, doc.get("value") == want["value"] and
          doc.get("gradient", {}).get("x") == want["gradient"], out + err)

# ------------------------------------------------------------ second order, forward mode

rc, out, err = run("--hessian", "f = x*y*z", "x=1", "y=2", "z=3")
check("--hessian: the table of d2 f/dx dy = z, ...", rc == 0 and out.endswith(
      "\nHessian of f (tg_hessian), d2 f/d row d column:\n"
      "     x  y  z\n"
      "  x  0  3  2\n"
      "  y  3  0  1\n"
      "  z  2  1  0\n"), out + err)
rc, out, err = run("--hessian", "f = x^2*y + sin(x*y)", "x=1", "y=2")
check("--hessian: the README's example, as printed there", rc == 0 and out ==
      "f = 2.90929742682568\n"
      "  d f/d x  3.16770632690572\n"
      "  d f/d y  0.583853163452858\n"
      "\n"
      "Hessian of f (tg_hessian), d2 f/d row d column:\n"
      "                      x                   y\n"
      "  x   0.362810292697273  -0.234741690198506\n"
      "  y  -0.234741690198506  -0.909297426825682\n", out)
x, y = 1.0, 2.0
rc, out, err = run("--json", "--hessian", "f = x^2*y + sin(x*y)", "x=1", "y=2")
doc = json.loads(out) if rc == 0 else {}
h = doc.get("hessian", {})
closed = {("x", "x"): 2 * y - y * y * math.sin(x * y),
          ("x", "y"): 2 * x + math.cos(x * y) - x * y * math.sin(x * y),
          ("y", "x"): 2 * x + math.cos(x * y) - x * y * math.sin(x * y),
          ("y", "y"): -x * x * math.sin(x * y)}
check("--json --hessian: \"hessian\" against the closed form", rc == 0 and all(
      abs(h[a][b] - v) <= 1e-14 * max(1, abs(v)) for (a, b), v in closed.items()), out + err)
rc, out, err = run("--json", "--jacobian", "--output", "f", "--output", "g", "--jvp", "x=1", "--jvp", "y=-2",
                   "f = x*y; g = x^2 + y", "x=3", "y=2")
doc = json.loads(out) if rc == 0 else {}
check("--jacobian --output f --output g: \"jacobian\" by output and variable",
      doc.get("jacobian") == {"f": {"x": 2, "y": 3}, "g": {"x": 6, "y": 1}}, out + err)
check("--jvp x=1 --jvp y=-2: J v for each output", doc.get("jvp") == {"f": 2 - 6, "g": 6 - 2}, out + err)
rc, out, err = run("--jacobian", "--output", "h", "f = x*y", "x=1", "y=1")
check("--output of no statement: exit 1", rc == 1 and err == "tapegrad: --output h: no statement of that name\n", err)
rc, out, err = run("--jvp", "q=1", "f = x*y", "x=1", "y=1")
check("--jvp of no variable: exit 1", rc == 1 and err == "tapegrad: --jvp q=1: no variable of that name\n", err)

# ------------------------------------------------------------ --at -

expr = "f = relu(x - y) * x + exp(y/4)"  # x, y, x - y, then relu: node 3
points = [(1, 0.5), (2, -1), (0.25, 3), (-1, -2), (3, 2.5)]
csv = "x, y\n" + "".join("%s,%s\n" % p for p in points) + "\n"
rc, out, err = run("--at", "-", expr, "x=1", "y=0", stdin=csv)
lines = out.splitlines()
check("--at -: a header and one line per point", rc == 0 and len(lines) == 1 + len(points) and
      lines[0] == "x,y,f,d f/d x,d f/d y,branch", out + err)
for (x, y), line in zip(points, lines[1:]):
    cells = line.split(",")
    rc, one, _ = run("--json", expr, "x=%s" % x, "y=%s" % y)
    direct = json.loads(one)
    crossed = x - y <= 0
    check("--at -: point (%s, %s) is the direct evaluation" % (x, y),
          float(cells[2]) == float("%.15g" % direct["value"]) and
          (crossed or (float(cells[3]) == float("%.15g" % direct["gradient"]["x"]) and
                       float(cells[4]) == float("%.15g" % direct["gradient"]["y"]))), line + " / " + one)
    check("--at -: point (%s, %s) %s the recorded branch" % (x, y, "crosses" if crossed else "keeps"),
          (cells[5] == "crossed node 3 (relu)") == crossed and (cells[3] == "") == crossed, line)
rc, out, err = run("--at", "-", expr, "x=1", "y=0", stdin="x,z\n1,2\n")
check("--at -: a column that is no variable", rc == 1 and
      err == "tapegrad: --at line 1, column 2: 'z' is not a variable of the expression\n", err)
rc, out, err = run("--at", "-", expr, "x=1", "y=0", stdin="x,y\n1,2\n1,two\n")
check("--at -: a value that is no number, by line and column", rc == 1 and
      err == "tapegrad: --at line 3, column 2: 'two' is not a number\n", err)

# ------------------------------------------------------------ --step, --check

rc, out, err = run("--step", *APPLE_ORANGE)
check("--step: the chain-rule ledger", rc == 0 and
      "d price/d apple = d price/d apple_price (1.1) x d apple_price/d apple (2) = 2.2" not in out and
      "d price/d apple = d price/d t5 (1.1) x d t5/d apple (2) = 2.2" in out and
      "step 9/9  price = t7 x tax" in out, out)
rc, out, err = run("--check", "f = x^2*sin(x) + hypot(x, y) / y", "x=1.5", "y=-0.5")
check("--check: both checks agree, exit 0", rc == 0 and "0 of 6 ops disagree" in out and
      "Worst disagreement: " in out, out + err)

# ------------------------------------------------------------ errors

rc, out, err = run("x + tax", "x=1")
check("an unknown name: its position, exit 1", rc == 1 and out == "" and
      err.startswith("tapegrad: tg_parse: 1:5: unknown name 'tax'\n"), err)
rc, out, err = run("2 * (x + 1", "x=1")
check("a syntax error: what was expected, exit 1", rc == 1 and
      err == "tapegrad: tg_parse: 1:11: expected ')' to close '(' at 1:5\n", err)
rc, out, err = run("--nope", "x")
check("an unknown option: exit 2", rc == 2 and "unknown option '--nope'" in err, err)
rc, out, err = run("x", "x=abc")
check("a variable that is no number: exit 2", rc == 2 and err == "tapegrad: x=abc: 'abc' is not a number\n", err)
rc, out, err = run("--help")
check("--help on stdout, exit 0", rc == 0 and out.startswith("Usage: tapegrad") and err == "")
rc, out, err = run("--version")
check("--version: the meson project version", rc == 0 and out == "tapegrad %s\n" % VERSION, out)

with tempfile.TemporaryDirectory() as d:
    rc, out, err = run("--dot", os.path.join(d, "g.dot"), "--html", os.path.join(d, "g.html"), *APPLE_ORANGE)
    check("--dot and --html write their files", rc == 0 and sorted(os.listdir(d)) == ["g.dot", "g.html"])
    html = open(os.path.join(d, "g.html"), encoding="utf-8").read()
    check("--html: self-contained (nothing fetched)", "<script src" not in html and "http://" not in
          html.replace('"http://www.w3.org/2000/svg"', "") and "https://" not in html)
    before = sorted(os.listdir(d))
    rc, out, err = run("--dot", os.path.join(d, "g.dot"), "x +", "x=1")
    check("a failed parse leaves an existing output file alone", rc == 1 and
          sorted(os.listdir(d)) == before and open(os.path.join(d, "g.dot")).read().startswith("digraph"))
    rc, out, err = run("--html", os.path.join(d, "nodir", "g.html"), "x", "x=1")
    check("an output file that cannot be written: exit 1 before any work, nothing left",
          rc == 1 and "cannot write" in err and out == "" and sorted(os.listdir(d)) == before, err)
    os.environ["PATH"] = d  # no Graphviz: a picture fails whole
    rc, out, err = run("--dot", os.path.join(d, "g.svg"), "x", "x=1")
    check("--dot FILE.svg without Graphviz: the DOT text beside it, and a note", rc == 0 and
          "Graphviz" in out + err and sorted(os.listdir(d)) == before and
          not os.path.exists(os.path.join(d, "g.svg")), out + err)


# ------------------------------------------------------------ the REPL

def repl(lines):
    """Run tapegrad at a pseudo-terminal, type lines, return all it wrote."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(TAPEGRAD, [TAPEGRAD])
    out = b""

    def read_prompts(count, limit=10.0):
        """Read until the prompt has been written count times (or limit s)."""
        nonlocal out
        end = time.time() + limit
        while out.count(b"tapegrad> ") < count and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
    # libedit puts the terminal in raw mode, discarding pending input, after
    # the prompt may already show: each line waits a moment after it, and
    # Ctrl-D, which changes nothing if seen twice, is typed until it ends.
    read_prompts(1)
    for k, line in enumerate(lines):
        time.sleep(0.1)
        os.write(fd, line.encode() + b"\r")
        read_prompts(k + 2)
    read_prompts(len(lines) + 1, 20.0)  # the last line's answer, on a slow machine too

    def drain(seconds):
        """Read whatever comes for that long (the prompt count may be reached already)."""
        nonlocal out
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    time.sleep(0.05)

    ended_by = "nothing"
    for _ in range(600):  # 60 s for it to end, in steps of 0.1 s
        if _ % 10 == 5 and _ < 300:  # half a second after the prompt, then every second
            try:
                os.write(fd, b"\x04")  # Ctrl-D
            except OSError:
                pass
        elif _ == 300:  # Ctrl-D never reached it: quit, and say so below
            try:
                os.write(fd, b"quit\r")
            except OSError:
                pass
        drain(0.1)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            ended_by = "Ctrl-D" if _ < 300 else "quit"
            break
    else:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        ended_by = "kill"
    os.close(fd)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    return text + "\n[ended by %s, wait status %d]" % (ended_by, status), status, ended_by


text, status, ended_by = repl(["x = 3", "f = x^2 * sin(x)", "grad f", "x = 2", "grad f", "g = f * y", "step f", "hess f",
                     "help"])
want3 = "%.15g" % (2 * 3 * math.sin(3) + 9 * math.cos(3))
want2 = "%.15g" % (2 * 2 * math.sin(2) + 4 * math.cos(2))
check("REPL: a variable, a statement, its gradient", "f = %s" % ("%.15g" % (9 * math.sin(3))) in text and
      "d f/d x  %s" % want3 in text, text)
check("REPL: a new value replays the tape", "d f/d x  %s" % want2 in text, text)
check("REPL: an unknown name is reported, the session goes on",
      "tg_parse: 1:9: unknown name 'y'" in text and "Backward pass" in text, text)
check("REPL: hess f at x = 2", "Hessian of f" in text and "  x  %s\n" % ("%.15g" % (
      2 * math.sin(2) + 8 * math.cos(2) - 4 * math.sin(2))) in text, text)
check("REPL: help lists the commands; the session ends with status 0",
      "grad f " in text and ended_by in ("Ctrl-D", "quit") and os.WIFEXITED(status) and
      os.WEXITSTATUS(status) == 0, text)


print("%d failed" % len(failures) if failures else "all passed")
sys.exit(1 if failures else 0)

# Doxygen input filter: the public headers keep plain C comments, and this
# turns them into Doxygen's at read time, so that a header stays readable
# top to bottom and a declaration is documented by the comment it already
# carries:
#   the file's opening comment            -> /** @file ... */
#   a comment that starts a line          -> /** ... */  (the next declaration)
#   a comment after code on its line      -> /**< ... */ (that declaration)
#   a divider, "/* ---- section */"       -> left alone (documents nothing)
# Nothing else changes, so line numbers in warnings are the header's own.
{
    line = $0
    if (!in_comment) {
        if (NR == 1 && line ~ /^\/\*([^*]|$)/)
            sub(/^\/\*/, "/** @file", line)
        else if (line ~ /^[ \t]*\/\* *-+/)
            ;
        else if (line ~ /^[ \t]*\/\*([^*]|$)/)
            sub(/\/\*/, "/**", line)
        else if (line ~ /[^ \t][ \t]*\/\*([^*]|$)/ && line !~ /^[ \t]*#[ \t]*(if|endif|else|elif)/)
            sub(/\/\*/, "/**<", line)
    }
    # Track whether the line ends inside a comment (comments do not nest).
    rest = $0
    while (rest != "") {
        if (in_comment) {
            i = index(rest, "*/")
            if (!i) break
            in_comment = 0
            rest = substr(rest, i + 2)
        } else {
            i = index(rest, "/*")
            if (!i) break
            in_comment = 1
            rest = substr(rest, i + 2)
        }
    }
    print line
}

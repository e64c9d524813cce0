/* The command's interactive mode: statements and commands line by line,
 * with line editing and history from libedit. */
#ifndef TOOL_REPL_H
#define TOOL_REPL_H

#include "session.h"

/* Read and run lines until end of input or "quit"; the exit status. */
int repl(session *s);

#endif

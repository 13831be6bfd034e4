#include "capimport.h"

int capimport_run(const struct tool_options *options, const struct identity *identity)
{
    (void)options;
    (void)identity;
    return EXIT_USAGE;
}

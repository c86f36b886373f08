/* sluice: argv -> subcommand. Everything else lives in the library. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sluice/cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", sluice_cli_run, "consume Debezium topics and apply them to PostgreSQL"},
    {"check", sluice_cli_check, "validate the config, reach PostgreSQL and Kafka, show the plan"},
    {"decode", sluice_cli_decode, "decode one Debezium message value and print it as JSON"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: sluice <command> [options]\n\ncommands:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`sluice <command> --help` describes a command; `sluice --version` prints the version.\n"
                 "exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 3 a message could\n"
                 "not be decoded or applied (nothing past it was committed)\n");
}

int main(int argc, char **argv)
{
    size_t i;

    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return SLUICE_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SLUICE_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("sluice %s\n", sluice_version());
        return SLUICE_EXIT_OK;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return SLUICE_EXIT_USAGE;
}

/* sluice_main: the command line of a Sluice worker — argv -> subcommand, with
 * the handler table compiled into this worker. The stock `sluice` binary and
 * a team's own worker (sluice_add_worker in CMake) both start here. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sluice/cli.h"
#include "sluice/handler.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", sluice_cli_run, "consume Debezium topics and apply them to PostgreSQL"},
    {"check", sluice_cli_check, "validate the config, reach PostgreSQL and Kafka, show the plan"},
    {"decode", sluice_cli_decode, "decode one Debezium message value and print it as JSON"},
    {"connectors", sluice_cli_connectors, "apply manifests to Kafka Connect, show status, restart"},
    {"replay", sluice_cli_replay, "rewind the group (ledger and Kafka) to earliest, latest, a time or an offset"},
    {"dlq", sluice_cli_dlq, "re-apply dead-lettered messages after a fix (dlq replay)"},
    {"backfill", sluice_cli_backfill, "ask Debezium for an incremental snapshot of a table and follow it"},
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

int sluice_main(int argc, char **argv, const sluice_handler_t *handlers, size_t nhandlers)
{
    size_t i;

    signal(SIGPIPE, SIG_IGN);
    sluice_cli_set_handlers(handlers, nhandlers);
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

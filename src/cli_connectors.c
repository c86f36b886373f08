/* `sluice connectors apply|status|restart`: the config's connector manifests
 * against the Kafka Connect REST API (libcurl). apply PUTs each config to
 * /connectors/{name}/config (create-or-update), status shows connector and
 * task states with their workers and the traces of failed tasks, restart
 * restarts failed instances. A 409 (the Connect cluster is rebalancing) is
 * retried a few times; Connect's {"error_code","message"} bodies are shown
 * as they are. Owns no connector state: Kafka Connect does. */
#include "sluice/cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice/buf.h"
#include "sluice/config.h"
#include "sluice/manifest.h"

typedef struct {
    const char *base;   /* Connect REST URL, no trailing slash */
    int retries;        /* extra attempts on 409/503 */
    long retry_delay_ms;
    long timeout_ms;
} connect_t;

typedef struct {
    long status;
    sluice_buf_t body;
    char error[CURL_ERROR_SIZE];
} response_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sluice connectors apply|status|restart -c FILE --connect-url URL\n"
            "                         [--connector NAME] [--retries N] [--timeout-ms MS]\n\n"
            "Manages the Debezium connectors listed in the config's connectors key through the\n"
            "Kafka Connect REST API (Strimzi KafkaConnector YAML: name from metadata.name,\n"
            "spec.class and spec.tasksMax become connector.class and tasks.max).\n\n"
            "  apply    PUT /connectors/{name}/config for each manifest (create or update;\n"
            "           placeholders such as ${file:...} are sent as written for Connect)\n"
            "  status   GET /connectors/{name}/status: connector and task states, worker ids,\n"
            "           traces of failed tasks; exit 1 if anything is FAILED\n"
            "  restart  POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true\n\n"
            "  -c, --config FILE     the worker's config file\n"
            "      --connect-url URL Kafka Connect REST URL (default $SLUICE_CONNECT_URL)\n"
            "      --connector NAME  only this connector\n"
            "      --retries N       retries while Connect answers 409 (rebalance); default 5\n"
            "      --timeout-ms MS   per request (default 30000)\n"
            "A 409 means Kafka Connect is rebalancing: Sluice waits and retries.\n");
}

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
    sluice_buf_t *b = opaque;

    return sluice_buf_append(b, data, size * n) < 0 ? 0 : size * n;
}

/* One HTTP exchange, retrying 409 and 503. Returns -1 on transport failure
 * (message in res->error). */
static int request(const connect_t *c, const char *method, const char *path, const char *body,
                   response_t *res)
{
    char url[4096];
    int attempt;

    snprintf(url, sizeof(url), "%s%s", c->base, path);
    for (attempt = 0;; attempt++) {
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        CURLcode rc;

        if (!h) {
            snprintf(res->error, sizeof(res->error), "out of memory");
            return -1;
        }
        sluice_buf_reset(&res->body);
        res->error[0] = '\0';
        res->status = 0;
        hdrs = curl_slist_append(hdrs, "Accept: application/json");
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &res->body);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res->error);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        } else if (strcmp(method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        }
        rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
        else if (!res->error[0])
            snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(rc));
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        if (rc != CURLE_OK)
            return -1;
        if ((res->status == 409 || res->status == 503) && attempt < c->retries) {
            long delay = c->retry_delay_ms * (1L << (attempt < 5 ? attempt : 5));
            fprintf(stderr, "sluice: %s %s: Kafka Connect answered %ld (%s); retrying in %ld ms\n",
                    method, path, res->status,
                    res->status == 409 ? "rebalancing" : "unavailable", delay);
            usleep((useconds_t)delay * 1000);
            continue;
        }
        return 0;
    }
}

/* Connect's error body {"error_code": N, "message": "..."}, or the raw text. */
static void error_text(const response_t *res, char *out, size_t outsz)
{
    json_t *o = res->body.len ? json_loadb(res->body.data, res->body.len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(o, "message"));

    if (msg)
        snprintf(out, outsz, "%s", msg);
    else if (res->body.len)
        snprintf(out, outsz, "%.*s", (int)(res->body.len > 500 ? 500 : res->body.len),
                 res->body.data);
    else
        snprintf(out, outsz, "(empty body)");
    json_decref(o);
}

static int report_failure(const char *what, const char *name, const connect_t *c,
                          const response_t *res)
{
    char msg[2048];

    error_text(res, msg, sizeof(msg));
    if (res->status == 404)
        fprintf(stderr, "sluice: connectors %s %s: connector not found on %s (run `sluice "
                        "connectors apply` first): %s\n",
                what, name, c->base, msg);
    else if (res->status == 409)
        fprintf(stderr, "sluice: connectors %s %s: Kafka Connect is still rebalancing after %d "
                        "retries (409): %s; try again later\n",
                what, name, c->retries, msg);
    else if (res->status == 400 || res->status == 422)
        fprintf(stderr, "sluice: connectors %s %s: Kafka Connect rejected the configuration (%ld): "
                        "%s\n",
                what, name, res->status, msg);
    else
        fprintf(stderr, "sluice: connectors %s %s: HTTP %ld from %s: %s\n", what, name,
                res->status, c->base, msg);
    return SLUICE_EXIT_RUNTIME;
}

static char *escape_name(const char *name)
{
    CURL *h = curl_easy_init();
    char *e = h ? curl_easy_escape(h, name, 0) : NULL, *copy = e ? strdup(e) : NULL;

    curl_free(e);
    if (h)
        curl_easy_cleanup(h);
    return copy;
}

static int do_apply(const connect_t *c, const sluice_manifest_t *m)
{
    char *name = escape_name(m->name), *body = sluice_manifest_connect_config(m), path[2048];
    response_t res;
    int rc = SLUICE_EXIT_OK;

    memset(&res, 0, sizeof(res));
    sluice_buf_init(&res.body);
    if (!name || !body) {
        fprintf(stderr, "sluice: out of memory\n");
        rc = SLUICE_EXIT_RUNTIME;
        goto out;
    }
    snprintf(path, sizeof(path), "/connectors/%s/config", name);
    if (request(c, "PUT", path, body, &res) < 0) {
        fprintf(stderr, "sluice: connectors apply %s: cannot reach Kafka Connect at %s: %s\n",
                m->name, c->base, res.error);
        rc = SLUICE_EXIT_RUNTIME;
    } else if (res.status == 201) {
        printf("%s: created\n", m->name);
    } else if (res.status == 200) {
        printf("%s: updated\n", m->name);
    } else {
        rc = report_failure("apply", m->name, c, &res);
    }
out:
    sluice_buf_cleanup(&res.body);
    free(name);
    free(body);
    return rc;
}

static void print_trace(const char *trace)
{
    const char *p = trace;
    int lines = 0;

    while (*p && lines < 8) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("      %.*s\n", len, p);
        lines++;
        if (!nl)
            return;
        p = nl + 1;
    }
    if (*p)
        printf("      ...\n");
}

/* Prints a status object; returns 1 when something is FAILED. */
static int print_status(const char *name, json_t *st)
{
    json_t *conn = json_object_get(st, "connector"), *tasks = json_object_get(st, "tasks"), *t;
    const char *state = json_string_value(json_object_get(conn, "state"));
    const char *worker = json_string_value(json_object_get(conn, "worker_id"));
    const char *trace = json_string_value(json_object_get(conn, "trace"));
    int failed = state && strcmp(state, "FAILED") == 0;
    size_t i;

    printf("%s: %s on %s\n", name, state ? state : "?", worker ? worker : "?");
    if (trace)
        print_trace(trace);
    json_array_foreach(tasks, i, t) {
        const char *ts = json_string_value(json_object_get(t, "state"));
        const char *tw = json_string_value(json_object_get(t, "worker_id"));
        const char *tt = json_string_value(json_object_get(t, "trace"));
        printf("  task %" JSON_INTEGER_FORMAT ": %s on %s\n", json_integer_value(json_object_get(t, "id")),
               ts ? ts : "?", tw ? tw : "?");
        if (ts && strcmp(ts, "FAILED") == 0) {
            failed = 1;
            if (tt)
                print_trace(tt);
        }
    }
    if (!json_array_size(tasks))
        printf("  no tasks\n");
    return failed;
}

static int do_status_or_restart(const connect_t *c, const sluice_manifest_t *m, int restart)
{
    char *name = escape_name(m->name), path[2048];
    response_t res;
    json_t *st = NULL;
    int rc = SLUICE_EXIT_OK;
    const char *what = restart ? "restart" : "status";

    memset(&res, 0, sizeof(res));
    sluice_buf_init(&res.body);
    if (!name) {
        fprintf(stderr, "sluice: out of memory\n");
        return SLUICE_EXIT_RUNTIME;
    }
    if (restart)
        snprintf(path, sizeof(path), "/connectors/%s/restart?includeTasks=true&onlyFailed=true",
                 name);
    else
        snprintf(path, sizeof(path), "/connectors/%s/status", name);
    if (request(c, restart ? "POST" : "GET", path, NULL, &res) < 0) {
        fprintf(stderr, "sluice: connectors %s %s: cannot reach Kafka Connect at %s: %s\n", what,
                m->name, c->base, res.error);
        rc = SLUICE_EXIT_RUNTIME;
        goto out;
    }
    if (restart && res.status == 204) {
        printf("%s: restart requested\n", m->name);
        goto out;
    }
    if (res.status != 200 && res.status != 202) {
        rc = report_failure(what, m->name, c, &res);
        goto out;
    }
    st = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, NULL);
    if (!json_is_object(st)) {
        fprintf(stderr, "sluice: connectors %s %s: Kafka Connect answered %ld with a body that is "
                        "not a status object\n",
                what, m->name, res.status);
        rc = SLUICE_EXIT_RUNTIME;
        goto out;
    }
    if (restart)
        printf("%s: restart requested (failed instances only)\n", m->name);
    if (print_status(m->name, st) && !restart)
        rc = SLUICE_EXIT_RUNTIME;
out:
    json_decref(st);
    sluice_buf_cleanup(&res.body);
    free(name);
    return rc;
}

int sluice_cli_connectors(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},     {"connect-url", required_argument, NULL, 'u'},
        {"connector", required_argument, NULL, 'n'},  {"retries", required_argument, NULL, 'r'},
        {"retry-delay-ms", required_argument, NULL, 'd'},
        {"timeout-ms", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *only = NULL, *action;
    char *base = NULL;
    connect_t c = {NULL, 5, 1000, 30000};
    sluice_config_t *cfg;
    sluice_err_t err;
    size_t i, matched = 0;
    int opt, rc = SLUICE_EXIT_OK;

    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return SLUICE_EXIT_OK;
        }
        usage(stderr);
        return SLUICE_EXIT_USAGE;
    }
    action = argv[1];
    if (strcmp(action, "apply") && strcmp(action, "status") && strcmp(action, "restart")) {
        fprintf(stderr, "sluice: connectors: unknown action \"%s\" (apply, status or restart)\n",
                action);
        return SLUICE_EXIT_USAGE;
    }
    c.base = getenv("SLUICE_CONNECT_URL");
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'u': c.base = optarg; break;
        case 'n': only = optarg; break;
        case 'r': c.retries = atoi(optarg); break;
        case 'd': c.retry_delay_ms = atol(optarg); break;
        case 't': c.timeout_ms = atol(optarg); break;
        case 'h': usage(stdout); return SLUICE_EXIT_OK;
        default: usage(stderr); return SLUICE_EXIT_USAGE;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "sluice: connectors: unexpected argument \"%s\"\n", argv[optind + 1]);
        return SLUICE_EXIT_USAGE;
    }
    if (!c.base || !*c.base) {
        fprintf(stderr, "sluice: connectors: --connect-url is missing (or set SLUICE_CONNECT_URL), "
                        "e.g. http://connect:8083\n");
        return SLUICE_EXIT_USAGE;
    }
    if (c.retries < 0 || c.retry_delay_ms < 0 || c.timeout_ms <= 0) {
        fprintf(stderr, "sluice: connectors: --retries, --retry-delay-ms and --timeout-ms must be "
                        "positive\n");
        return SLUICE_EXIT_USAGE;
    }
    base = strdup(c.base);
    if (!base)
        return SLUICE_EXIT_RUNTIME;
    while (*base && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = '\0';
    c.base = base;

    sluice_err_clear(&err);
    cfg = sluice_config_load(config_path, &err);
    if (!cfg) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        free(base);
        return SLUICE_EXIT_USAGE;
    }
    if (!cfg->nmanifests) {
        fprintf(stderr, "sluice: connectors: %s lists no connector manifests (add \"connectors\": "
                        "[\"path/to/connector.json\"])\n",
                config_path ? config_path : "the config");
        sluice_config_destroy(cfg);
        free(base);
        return SLUICE_EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (i = 0; i < cfg->nmanifests; i++) {
        const sluice_manifest_t *m = cfg->manifests[i];
        int one;
        if (only && strcmp(only, m->name) != 0)
            continue;
        matched++;
        if (strcmp(action, "apply") == 0)
            one = do_apply(&c, m);
        else
            one = do_status_or_restart(&c, m, strcmp(action, "restart") == 0);
        if (one != SLUICE_EXIT_OK)
            rc = one;
    }
    if (only && !matched) {
        fprintf(stderr, "sluice: connectors: no manifest names a connector \"%s\"\n", only);
        rc = SLUICE_EXIT_USAGE;
    }
    curl_global_cleanup();
    sluice_config_destroy(cfg);
    free(base);
    return rc;
}

/* registry: against tests/tools/registry_server.py (python3, started by each
 * test on a free port of 127.0.0.1): fetch and cache by id (the second
 * lookup does not reach the server), path prefixes, basic auth (accepted,
 * refused with a clear fatal error, credentials in the URL masked in
 * messages), 503s retried then answered, 40403 permanent and negatively
 * cached, a URL that is not a registry, a slow or absent server (transient).
 * Then the whole decoder (decode.c) with the registry: framed Avro fixtures
 * decode, the plan is cached, an outage is transient and recovers. Skipped
 * without python3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "sluice/buf.h"
#include "sluice/config.h"
#include "sluice/decode.h"
#include "sluice/registry.h"

#define FIX SLUICE_TEST_FIXTURES "/debezium/"
#define SERVER SLUICE_TEST_FIXTURES "/../tools/registry_server.py"

typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char base[256]; /* http://127.0.0.1:PORT */
    sluice_err_t err;
} srv_t;

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[4096];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static int have_python(void)
{
    return system("python3 -c '' >/dev/null 2>&1") == 0;
}

/* Starts the server with extra arguments (NULL-terminated); reads its port. */
static void start(srv_t *s, ...)
{
    const char *argv[24];
    int out[2], n = 0, status;
    char line[32];
    struct pollfd pfd;
    ssize_t got;
    va_list ap;
    const char *a;

    argv[n++] = "python3";
    argv[n++] = SERVER;
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    va_start(ap, s);
    while ((a = va_arg(ap, const char *)) != NULL && n < 22)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    assert_int_equal(pipe(out), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    pfd.fd = out[0];
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 15000) != 1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        fail_msg("registry_server.py did not start");
    }
    got = read(out[0], line, sizeof(line) - 1);
    close(out[0]);
    assert_true(got > 0);
    line[got] = '\0';
    s->port = atoi(line);
    assert_true(s->port > 0);
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
}

static void stop(srv_t *s)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
}

static int setup(void **state)
{
    srv_t *s = calloc(1, sizeof(*s));
    char path[512];

    if (!s)
        return -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/sluice-test-registry-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(path, sizeof(path), "%s/81.avsc", s->dir);
    copy_file(FIX "flink-mysql-person-envelope.avsc", path);
    snprintf(path, sizeof(path), "%s/6.avsc", s->dir);
    copy_file(FIX "risingwave-mysql-customers-envelope.avsc", path);
    sluice_err_clear(&s->err);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    srv_t *s = *state;
    char cmd[512];

    stop(s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        return -1;
    free(s);
    return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *opaque)
{
    return sluice_buf_append(opaque, data, size * n) < 0 ? 0 : size * n;
}

/* GET /_stats or POST /_control with the test's own curl handle. */
static json_t *http(const srv_t *s, const char *path, const char *post)
{
    CURL *c = curl_easy_init();
    sluice_buf_t body;
    char url[512];
    json_t *j;

    assert_non_null(c);
    sluice_buf_init(&body);
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    j = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
    sluice_buf_cleanup(&body);
    assert_non_null(j);
    return j;
}

static long stat_of(const srv_t *s, const char *key, const char *id)
{
    json_t *j = http(s, "/_stats", NULL);
    long v = id ? (long)json_integer_value(json_object_get(json_object_get(j, "by_id"), id))
                : (long)json_integer_value(json_object_get(j, key));

    json_decref(j);
    return v;
}

static void control(const srv_t *s, const char *json)
{
    json_decref(http(s, "/_control", json));
}

static sluice_registry_t *registry(srv_t *s, const char *url, const char *auth)
{
    sluice_registry_opts_t o;
    sluice_registry_t *reg;

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.basic_auth = auth;
    o.timeout_ms = 2000;
    o.max_retries = 3;
    o.retry_backoff_ms = 10;
    o.retry_backoff_max_ms = 50;
    o.not_found_ttl_ms = 300;
    reg = sluice_registry_new(&o, &s->err);
    if (!reg)
        fail_msg("%s", s->err.msg);
    return reg;
}

static int get(sluice_registry_t *reg, srv_t *s, int32_t id, const char **schema)
{
    size_t len;

    sluice_err_clear(&s->err);
    return sluice_registry_get(reg, id, schema, &len, &s->err);
}

static void expect(const srv_t *s, int rc, sluice_err_class_t cls, const char *needle)
{
    assert_int_equal(rc, -1);
    if (s->err.cls != cls)
        fail_msg("class %s, expected %s: %s", sluice_err_class_name(s->err.cls),
                 sluice_err_class_name(cls), s->err.msg);
    if (needle && !strstr(s->err.msg, needle))
        fail_msg("\"%s\" does not mention \"%s\"", s->err.msg, needle);
}

#define NEED_PYTHON()                                                                            \
    do {                                                                                         \
        if (!have_python())                                                                      \
            skip();                                                                              \
    } while (0)

/* ---------------------------------------------------------------------- */

static void test_registry_fetch_and_cache(void **state)
{
    srv_t *s = *state;
    sluice_registry_t *reg;
    sluice_registry_stats_t st;
    const char *a, *b;

    NEED_PYTHON();
    start(s, NULL);
    reg = registry(s, s->base, NULL);
    assert_int_equal(get(reg, s, 81, &a), 0);
    assert_non_null(strstr(a, "fullfillment.test1.person"));
    assert_int_equal(get(reg, s, 81, &b), 0);
    assert_ptr_equal(a, b); /* the cached text, not a new copy */
    assert_int_equal(get(reg, s, 6, &b), 0);
    assert_non_null(strstr(b, "dbserver1.inventory.customers"));
    assert_int_equal(stat_of(s, NULL, "81"), 1); /* the second lookup stayed home */
    assert_int_equal(stat_of(s, NULL, "6"), 1);
    sluice_registry_stats(reg, &st);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    sluice_registry_destroy(reg);
}

static void test_registry_path_prefix(void **state)
{
    srv_t *s = *state;
    sluice_registry_t *reg;
    char url[300];
    const char *a;

    NEED_PYTHON();
    start(s, "--prefix", "/apis/ccompat/v7", NULL);
    snprintf(url, sizeof(url), "%s/apis/ccompat/v7/", s->base); /* trailing '/' too */
    reg = registry(s, url, NULL);
    assert_int_equal(get(reg, s, 81, &a), 0);
    sluice_registry_destroy(reg);

    /* the prefix forgotten: the server is not a registry there */
    reg = registry(s, s->base, NULL);
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_FATAL, "does not look like");
    assert_non_null(strstr(s->err.msg, "registry.url"));
    sluice_registry_destroy(reg);
}

static void test_registry_basic_auth(void **state)
{
    srv_t *s = *state;
    sluice_registry_t *reg;
    char url[300];
    const char *a;

    NEED_PYTHON();
    start(s, "--auth", "alice:s3cr:et", NULL);
    reg = registry(s, s->base, "alice:s3cr:et");
    assert_int_equal(get(reg, s, 81, &a), 0);
    sluice_registry_destroy(reg);

    reg = registry(s, s->base, "alice:wrong");
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_FATAL, "HTTP 401");
    assert_non_null(strstr(s->err.msg, "registry.basic_auth"));
    assert_null(strstr(s->err.msg, "wrong"));
    sluice_registry_destroy(reg);

    reg = registry(s, s->base, NULL);
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_FATAL, "HTTP 401");
    sluice_registry_destroy(reg);

    /* user:password in the URL works and is never shown */
    snprintf(url, sizeof(url), "http://alice:s3cr%%3Aet@127.0.0.1:%d", s->port);
    reg = registry(s, url, NULL);
    assert_int_equal(get(reg, s, 81, &a), 0);
    assert_null(strstr(sluice_registry_url(reg), "s3cr"));
    assert_non_null(strstr(sluice_registry_url(reg), "***@127.0.0.1"));
    expect(s, get(reg, s, 12345, &a), SLUICE_ERR_PERMANENT, "***@127.0.0.1");
    assert_null(strstr(s->err.msg, "s3cr"));
    sluice_registry_destroy(reg);
}

static void test_registry_retries_503(void **state)
{
    srv_t *s = *state;
    sluice_registry_t *reg;
    sluice_registry_stats_t st;
    const char *a;

    NEED_PYTHON();
    start(s, "--fail", "2", NULL);
    reg = registry(s, s->base, NULL);
    assert_int_equal(get(reg, s, 81, &a), 0);
    sluice_registry_stats(reg, &st);
    assert_int_equal(st.retries, 2);
    assert_int_equal(stat_of(s, NULL, "81"), 3);

    /* longer than the quick retries: transient, nothing cached */
    control(s, "{\"fail\": 100}");
    expect(s, get(reg, s, 6, &a), SLUICE_ERR_TRANSIENT, "HTTP 503");
    assert_non_null(strstr(s->err.msg, "/schemas/ids/6"));
    assert_int_equal(stat_of(s, NULL, "6"), 4); /* 1 + max_retries */
    control(s, "{\"fail\": 0}");
    assert_int_equal(get(reg, s, 6, &a), 0);
    /* 429 and 500 are retried as well */
    control(s, "{\"fail\": 1, \"fail_status\": 429}");
    sluice_registry_destroy(reg);
    reg = registry(s, s->base, NULL);
    assert_int_equal(get(reg, s, 81, &a), 0);
    sluice_registry_destroy(reg);
}

static void test_registry_not_found(void **state)
{
    srv_t *s = *state;
    sluice_registry_t *reg;
    sluice_registry_stats_t st;
    const char *a;

    NEED_PYTHON();
    start(s, NULL);
    reg = registry(s, s->base, NULL);
    expect(s, get(reg, s, 999, &a), SLUICE_ERR_PERMANENT, "schema id 999 not found");
    assert_non_null(strstr(s->err.msg, s->base));
    assert_non_null(strstr(s->err.msg, "40403"));
    /* negatively cached for a short while */
    expect(s, get(reg, s, 999, &a), SLUICE_ERR_PERMANENT, "schema id 999 not found");
    assert_int_equal(stat_of(s, NULL, "999"), 1);
    sluice_registry_stats(reg, &st);
    assert_int_equal(st.not_found_hits, 1);
    usleep(400 * 1000);
    expect(s, get(reg, s, 999, &a), SLUICE_ERR_PERMANENT, "schema id 999 not found");
    assert_int_equal(stat_of(s, NULL, "999"), 2);
    /* a schema that appears later is found once the entry expired */
    control(s, "{\"not_found\": [81]}");
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_PERMANENT, "81");
    control(s, "{\"not_found\": []}");
    usleep(400 * 1000);
    assert_int_equal(get(reg, s, 81, &a), 0);
    sluice_registry_destroy(reg);
}

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void test_registry_down_and_slow(void **state)
{
    srv_t *s = *state;
    sluice_registry_t *reg;
    sluice_registry_opts_t o;
    char url[64];
    const char *a;

    NEED_PYTHON();
    /* nothing listens: connection refused, retried, transient */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
    reg = registry(s, url, NULL);
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_TRANSIENT, "failed 4 times");
    assert_non_null(strstr(s->err.msg, url));
    sluice_registry_destroy(reg);

    /* slower than the timeout: transient */
    start(s, "--delay-ms", "1500", NULL);
    memset(&o, 0, sizeof(o));
    o.url = s->base;
    o.timeout_ms = 300;
    o.max_retries = 1;
    o.retry_backoff_ms = 10;
    reg = sluice_registry_new(&o, &s->err);
    assert_non_null(reg);
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_TRANSIENT, "failed 2 times");
    control(s, "{\"delay_ms\": 0}");
    assert_int_equal(get(reg, s, 81, &a), 0);
    sluice_registry_destroy(reg);

    /* a server that goes away after answering: the cache still answers */
    reg = registry(s, s->base, NULL);
    assert_int_equal(get(reg, s, 6, &a), 0);
    stop(s);
    assert_int_equal(get(reg, s, 6, &a), 0);
    expect(s, get(reg, s, 81, &a), SLUICE_ERR_TRANSIENT, NULL);
    sluice_registry_destroy(reg);
}

static void test_registry_bad_config(void **state)
{
    srv_t *s = *state;
    sluice_registry_opts_t o;
    sluice_registry_t *reg;
    const char *a;

    memset(&o, 0, sizeof(o));
    assert_null(sluice_registry_new(&o, &s->err));
    assert_int_equal(s->err.cls, SLUICE_ERR_FATAL);
    o.url = "ftp://127.0.0.1:1";
    o.max_retries = 0;
    reg = sluice_registry_new(&o, &s->err);
    assert_non_null(reg);
    expect(s, get(reg, s, 1, &a), SLUICE_ERR_FATAL, "registry.url");
    sluice_registry_destroy(reg);
}

/* ---------------------------------------------------------------------- */
/* the decoder end to end */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_registry_decoder_end_to_end(void **state)
{
    srv_t *s = *state;
    sluice_config_t cfg;
    sluice_decoder_t *dec;
    sluice_event_t ev;
    size_t len, rlen;
    char *person, *cust;
    int i;

    NEED_PYTHON();
    start(s, NULL);
    memset(&cfg, 0, sizeof(cfg));
    cfg.format_key = "auto";
    cfg.format_value = "auto";
    cfg.registry_url = s->base;
    cfg.registry_timeout_ms = 2000;
    dec = sluice_decoder_new(&cfg, &s->err);
    assert_non_null(dec);
    sluice_event_init(&ev);
    person = slurp(FIX "flink-mysql-person-update.avro", &len);
    cust = slurp(FIX "risingwave-mysql-customers-snapshot.avro", &rlen);
    for (i = 0; i < 50; i++) {
        sluice_event_reset(&ev);
        if (sluice_decoder_value(dec, person, len - 1, &ev, &s->err) < 0)
            fail_msg("%s", s->err.msg);
        assert_int_equal(ev.op, SLUICE_OP_UPDATE);
    }
    assert_int_equal(stat_of(s, "schema_requests", NULL), 1); /* one fetch, one plan */

    /* an outage before the first record of schema 6: transient, then fine */
    control(s, "{\"fail\": 1000}");
    sluice_event_reset(&ev);
    sluice_err_clear(&s->err);
    assert_int_equal(sluice_decoder_value(dec, cust, rlen, &ev, &s->err), -1);
    assert_int_equal(s->err.cls, SLUICE_ERR_TRANSIENT);
    /* schema 81 is cached: the outage does not matter to it */
    assert_int_equal(sluice_decoder_value(dec, person, len - 1, &ev, &s->err), 0);
    control(s, "{\"fail\": 0}");
    sluice_event_reset(&ev);
    if (sluice_decoder_value(dec, cust, rlen, &ev, &s->err) < 0)
        fail_msg("%s", s->err.msg);
    assert_int_equal(ev.op, SLUICE_OP_READ);

    /* unknown id: permanent, names id and URL */
    person[4] = 99;
    sluice_err_clear(&s->err);
    assert_int_equal(sluice_decoder_value(dec, person, len - 1, &ev, &s->err), -1);
    assert_int_equal(s->err.cls, SLUICE_ERR_PERMANENT);
    assert_non_null(strstr(s->err.msg, "schema id 99"));
    assert_non_null(strstr(s->err.msg, s->base));

    free(person);
    free(cust);
    sluice_event_cleanup(&ev);
    sluice_decoder_destroy(dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_fetch_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_path_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_basic_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_retries_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_down_and_slow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_decoder_end_to_end, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

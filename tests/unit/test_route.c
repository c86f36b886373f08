/* Unit tests for route: topic -> mirrored table naming, and which compiled
 * handlers run for an event (glob matches on the topic and on schema.table,
 * op masks, table order, the mirror entry, handler init/teardown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sluice/config.h"
#include "sluice/event.h"
#include "sluice/handler.h"
#include "sluice/route.h"

static const char *config_json =
    "{\"kafka\": {\"bootstrap.servers\": \"127.0.0.1:9092\", \"group.id\": \"g1\"},"
    " \"postgres\": {\"conninfo\": \"host=db dbname=app\"},"
    " \"topics\": [\"^srv\\\\..*\"],"
    " \"mirror\": {\"schema\": \"replica\","
    "              \"tables\": {\"srv.inventory.orders\": \"sales.order_copy\"}}}";

static sluice_config_t *config(void)
{
    sluice_err_t err;
    sluice_config_t *cfg;

    unsetenv("SLUICE_MIRROR_SCHEMA");
    sluice_err_clear(&err);
    cfg = sluice_config_load_string(config_json, "test.json", &err);
    if (!cfg)
        fail_msg("config: %s", err.msg);
    return cfg;
}

/* A handler fn that is never meant to run here: routing only picks it. */
static sluice_handler_rc_t noop(const sluice_event_t *ev, sluice_ctx_t *ctx, void *state)
{
    (void)ev;
    (void)ctx;
    (void)state;
    return SLUICE_HANDLER_OK;
}

static void event(sluice_event_t *ev, const char *topic, const char *schema, const char *db,
                  const char *table, sluice_op_t op)
{
    sluice_event_reset(ev);
    ev->topic = topic;
    ev->schema = schema;
    ev->db = db;
    ev->table = table;
    ev->op = op;
}

/* The names of the entries that run for ev, joined by ','. */
static const char *matched(sluice_router_t *r, const sluice_event_t *ev)
{
    static char names[512];
    const sluice_route_entry_t *e;
    size_t n, i;

    names[0] = '\0';
    assert_int_equal(sluice_router_match(r, ev, &e, &n), 0);
    for (i = 0; i < n; i++) {
        if (i)
            strcat(names, ",");
        strcat(names, e[i].h->name);
    }
    return names;
}

static void test_route_glob(void **state)
{
    (void)state;
    assert_true(sluice_route_glob("*", ""));
    assert_true(sluice_route_glob("*", "srv.inventory.orders"));
    assert_true(sluice_route_glob("", ""));
    assert_false(sluice_route_glob("", "x"));
    assert_true(sluice_route_glob("inventory.orders", "inventory.orders"));
    assert_false(sluice_route_glob("inventory.orders", "inventory.orders2"));
    assert_false(sluice_route_glob("inventory.orders", "xinventory.orders"));
    assert_false(sluice_route_glob("Inventory.orders", "inventory.orders")); /* case matters */
    assert_true(sluice_route_glob("*.inventory.*", "srv.inventory.orders"));
    assert_false(sluice_route_glob("*.inventory.*", "inventory.orders"));
    assert_true(sluice_route_glob("inventory.*", "inventory.orders"));
    assert_true(sluice_route_glob("inventory.*", "inventory."));
    assert_true(sluice_route_glob("*orders", "srv.inventory.orders"));
    assert_true(sluice_route_glob("*ab", "aab")); /* backtracks */
    assert_true(sluice_route_glob("a*b*c", "a-b-b-c"));
    assert_false(sluice_route_glob("a*b*c", "a-b-b-"));
    assert_true(sluice_route_glob("**", "anything"));
    assert_true(sluice_route_glob("srv.*.order*", "srv.inventory.orders_2024"));
    assert_false(sluice_route_glob("srv.*.order*", "srv.inventory.customers"));
}

static void test_route_op_mask(void **state)
{
    (void)state;
    assert_int_equal(sluice_op_mask(SLUICE_OP_CREATE), SLUICE_OPS_C);
    assert_int_equal(sluice_op_mask(SLUICE_OP_UPDATE), SLUICE_OPS_U);
    assert_int_equal(sluice_op_mask(SLUICE_OP_DELETE), SLUICE_OPS_D);
    assert_int_equal(sluice_op_mask(SLUICE_OP_READ), SLUICE_OPS_R);
    assert_int_equal(sluice_op_mask(SLUICE_OP_TRUNCATE), SLUICE_OPS_T);
    assert_int_equal(sluice_op_mask(SLUICE_OP_MESSAGE), SLUICE_OPS_M);
    assert_int_equal(sluice_op_mask(SLUICE_OP_TOMBSTONE), 0);
    assert_int_equal(sluice_op_mask(SLUICE_OP_CONTROL), 0);
    assert_int_equal(sluice_op_mask(SLUICE_OP_NONE), 0);
    assert_int_equal(SLUICE_OPS_C | SLUICE_OPS_U | SLUICE_OPS_D | SLUICE_OPS_R | SLUICE_OPS_T |
                         SLUICE_OPS_M,
                     SLUICE_OPS_ANY);
}

static void test_route_match_topic_and_table(void **state)
{
    static const sluice_handler_t table[] = {
        {"by_topic", "srv.inventory.orders", SLUICE_OPS_ANY, noop, NULL, NULL},
        {"by_table", "inventory.orders", SLUICE_OPS_ANY, noop, NULL, NULL},
        {"topic_glob", "srv.*", SLUICE_OPS_ANY, noop, NULL, NULL},
        {"table_glob", "*.customers", SLUICE_OPS_ANY, noop, NULL, NULL},
        {"other", "billing.invoices", SLUICE_OPS_ANY, noop, NULL, NULL},
    };
    sluice_config_t *cfg = config();
    sluice_err_t err;
    sluice_router_t *r;
    sluice_event_t ev;

    (void)state;
    sluice_event_init(&ev);
    r = sluice_router_new(cfg, table, sizeof(table) / sizeof(table[0]), &err);
    assert_non_null(r);
    assert_true(sluice_router_has_custom(r));

    event(&ev, "srv.inventory.orders", "inventory", "app", "orders", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "by_topic,by_table,topic_glob");
    event(&ev, "srv.inventory.customers", "inventory", "app", "customers", SLUICE_OP_UPDATE);
    assert_string_equal(matched(r, &ev), "topic_glob,table_glob");
    /* the source block decides schema.table, whatever the topic is called
     * (e.g. several tables routed onto one topic) */
    event(&ev, "merged.all", "inventory", "app", "orders", SLUICE_OP_DELETE);
    assert_string_equal(matched(r, &ev), "by_table");
    event(&ev, "merged.all", "billing", "app", "invoices", SLUICE_OP_DELETE);
    assert_string_equal(matched(r, &ev), "other");
    /* MySQL: no schema, the database is the qualifier */
    event(&ev, "srv.inventory.orders2", NULL, "inventory", "orders", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "by_table,topic_glob");
    event(&ev, "elsewhere.x", "", "inventory", "orders", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "by_table");
    /* no source table: only the topic can match */
    event(&ev, "srv.inventory.orders", NULL, NULL, NULL, SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "by_topic,topic_glob");
    event(&ev, "nothing.here", "public", "app", "accounts", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "");
    /* cached chains give the same answers the second time */
    event(&ev, "srv.inventory.orders", "inventory", "app", "orders", SLUICE_OP_UPDATE);
    assert_string_equal(matched(r, &ev), "by_topic,by_table,topic_glob");
    event(&ev, "merged.all", "inventory", "app", "orders", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "by_table");

    sluice_router_destroy(r);
    sluice_event_cleanup(&ev);
    sluice_config_destroy(cfg);
}

static void test_route_op_masks_filter(void **state)
{
    static const sluice_handler_t table[] = {
        {"creates", "*", SLUICE_OPS_C, noop, NULL, NULL},
        {"changes", "*", SLUICE_OPS_C | SLUICE_OPS_U | SLUICE_OPS_D, noop, NULL, NULL},
        {"reads", "*", SLUICE_OPS_R, noop, NULL, NULL},
        {"truncates", "*", SLUICE_OPS_T, noop, NULL, NULL},
        {"messages", "*", SLUICE_OPS_M, noop, NULL, NULL},
        {"nothing", "*", 0, noop, NULL, NULL},
    };
    sluice_config_t *cfg = config();
    sluice_err_t err;
    sluice_router_t *r;
    sluice_event_t ev;

    (void)state;
    sluice_event_init(&ev);
    r = sluice_router_new(cfg, table, sizeof(table) / sizeof(table[0]), &err);
    assert_non_null(r);
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "creates,changes");
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_UPDATE);
    assert_string_equal(matched(r, &ev), "changes");
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_DELETE);
    assert_string_equal(matched(r, &ev), "changes");
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_READ);
    assert_string_equal(matched(r, &ev), "reads");
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_TRUNCATE);
    assert_string_equal(matched(r, &ev), "truncates");
    event(&ev, "srv.message", NULL, NULL, NULL, SLUICE_OP_MESSAGE);
    assert_string_equal(matched(r, &ev), "messages");
    /* tombstones and control records run no handler at all */
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_TOMBSTONE);
    assert_string_equal(matched(r, &ev), "");
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_CONTROL);
    assert_string_equal(matched(r, &ev), "");
    sluice_router_destroy(r);
    sluice_event_cleanup(&ev);
    sluice_config_destroy(cfg);
}

/* Table order is run order, the mirror entry included wherever it sits. */
static void test_route_table_order_and_mirror(void **state)
{
    static const sluice_handler_t table[] = {
        {"z_first", "inventory.*", SLUICE_OPS_ANY, noop, NULL, NULL},
        SLUICE_HANDLER_MIRROR,
        {"a_last", "*", SLUICE_OPS_C | SLUICE_OPS_U, noop, NULL, NULL},
    };
    sluice_config_t *cfg = config();
    sluice_err_t err;
    sluice_router_t *r;
    sluice_event_t ev;
    const sluice_route_entry_t *e;
    size_t n;

    (void)state;
    sluice_event_init(&ev);
    r = sluice_router_new(cfg, table, sizeof(table) / sizeof(table[0]), &err);
    assert_non_null(r);
    event(&ev, "srv.inventory.orders", "inventory", "app", "orders", SLUICE_OP_CREATE);
    assert_int_equal(sluice_router_match(r, &ev, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].h->name, "z_first");
    assert_false(e[0].is_mirror);
    assert_string_equal(e[1].h->name, "mirror");
    assert_true(e[1].is_mirror);
    assert_null(e[1].h->fn);
    assert_string_equal(e[2].h->name, "a_last");
    assert_false(e[2].is_mirror);
    /* a d: the mirror and z_first */
    event(&ev, "srv.inventory.orders", "inventory", "app", "orders", SLUICE_OP_DELETE);
    assert_string_equal(matched(r, &ev), "z_first,mirror");
    /* another schema: the mirror (matches everything) and a_last */
    event(&ev, "srv.public.accounts", "public", "app", "accounts", SLUICE_OP_UPDATE);
    assert_string_equal(matched(r, &ev), "mirror,a_last");
    sluice_router_destroy(r);
    sluice_event_cleanup(&ev);
    sluice_config_destroy(cfg);
}

/* No table: the mirror alone, for every op that changes a row. */
static void test_route_mirror_only(void **state)
{
    sluice_config_t *cfg = config();
    sluice_err_t err;
    sluice_router_t *r;
    sluice_event_t ev;
    const sluice_route_entry_t *e;
    size_t n;

    (void)state;
    sluice_event_init(&ev);
    r = sluice_router_new(cfg, NULL, 0, &err);
    assert_non_null(r);
    assert_false(sluice_router_has_custom(r));
    event(&ev, "srv.public.accounts", "public", "app", "accounts", SLUICE_OP_READ);
    assert_int_equal(sluice_router_match(r, &ev, &e, &n), 0);
    assert_int_equal(n, 1);
    assert_true(e[0].is_mirror);
    assert_string_equal(e[0].h->name, "mirror");
    assert_string_equal(e[0].h->match, "*");
    assert_int_equal(e[0].h->ops, SLUICE_OPS_ANY);
    event(&ev, "srv.public.accounts", "public", "app", "accounts", SLUICE_OP_TOMBSTONE);
    assert_string_equal(matched(r, &ev), "");
    sluice_router_destroy(r);

    /* a table that holds only the mirror is no custom table either */
    {
        static const sluice_handler_t only[] = {SLUICE_HANDLER_MIRROR};
        r = sluice_router_new(cfg, only, 1, &err);
        assert_non_null(r);
        assert_false(sluice_router_has_custom(r));
        sluice_router_destroy(r);
    }
    /* and a table without the mirror mirrors nothing */
    {
        static const sluice_handler_t nomirror[] = {
            {"orders_only", "inventory.orders", SLUICE_OPS_ANY, noop, NULL, NULL},
        };
        r = sluice_router_new(cfg, nomirror, 1, &err);
        assert_non_null(r);
        event(&ev, "srv.public.accounts", "public", "app", "accounts", SLUICE_OP_CREATE);
        assert_string_equal(matched(r, &ev), "");
        sluice_router_destroy(r);
    }
    sluice_router_destroy(NULL); /* no-op */
    sluice_event_cleanup(&ev);
    sluice_config_destroy(cfg);
}

/* ---- init / teardown ----------------------------------------------------------- */

static char calls[256]; /* "i:A t:A ..." in call order */
static int fail_transient;

static void note(const char *what, const char *name)
{
    strcat(calls, what);
    strcat(calls, name);
    strcat(calls, " ");
}

#define LIFECYCLE(N)                                                                        \
    static int init_##N(const sluice_config_t *cfg, void **st, sluice_err_t *err)             \
    {                                                                                         \
        static int token_##N;                                                                 \
        (void)err;                                                                            \
        assert_non_null(cfg);                                                                 \
        note("i:", #N);                                                                       \
        *st = &token_##N;                                                                     \
        return 0;                                                                             \
    }                                                                                         \
    static void teardown_##N(void *st)                                                        \
    {                                                                                         \
        assert_non_null(st);                                                                  \
        note("t:", #N);                                                                       \
    }
LIFECYCLE(A)
LIFECYCLE(B)
LIFECYCLE(D)

static int init_fails(const sluice_config_t *cfg, void **st, sluice_err_t *err)
{
    (void)cfg;
    (void)st;
    note("i:", "C");
    return sluice_err_set(err, fail_transient ? SLUICE_ERR_TRANSIENT : SLUICE_ERR_PERMANENT,
                          "cannot reach the pricing service");
}

static void teardown_never(void *st)
{
    (void)st;
    note("t:", "C");
}

static void test_route_init_state_and_teardown_order(void **state)
{
    static const sluice_handler_t table[] = {
        {"A", "*", SLUICE_OPS_ANY, noop, init_A, teardown_A},
        {"nostate", "*", SLUICE_OPS_ANY, noop, NULL, NULL},
        SLUICE_HANDLER_MIRROR,
        {"B", "*", SLUICE_OPS_ANY, noop, init_B, teardown_B},
    };
    sluice_config_t *cfg = config();
    sluice_err_t err;
    sluice_router_t *r;
    sluice_event_t ev;
    const sluice_route_entry_t *e;
    size_t n;

    (void)state;
    calls[0] = '\0';
    sluice_event_init(&ev);
    r = sluice_router_new(cfg, table, sizeof(table) / sizeof(table[0]), &err);
    assert_non_null(r);
    assert_string_equal(calls, "i:A i:B ");
    event(&ev, "srv.public.t", "public", "app", "t", SLUICE_OP_CREATE);
    assert_int_equal(sluice_router_match(r, &ev, &e, &n), 0);
    assert_int_equal(n, 4);
    /* each entry carries the state its init made */
    assert_non_null(e[0].state);
    assert_null(e[1].state);
    assert_null(e[2].state);
    assert_non_null(e[3].state);
    assert_ptr_not_equal(e[0].state, e[3].state);
    sluice_router_destroy(r);
    assert_string_equal(calls, "i:A i:B t:B t:A "); /* reverse order */
    sluice_event_cleanup(&ev);
    sluice_config_destroy(cfg);
}

/* A failing init unwinds: the handlers before it are torn down (in reverse),
 * itself and the ones after it are not; the error names the handler. */
static void test_route_init_failure_unwinds(void **state)
{
    static const sluice_handler_t table[] = {
        {"A", "*", SLUICE_OPS_ANY, noop, init_A, teardown_A},
        {"B", "*", SLUICE_OPS_ANY, noop, init_B, teardown_B},
        {"C", "*", SLUICE_OPS_ANY, noop, init_fails, teardown_never},
        {"D", "*", SLUICE_OPS_ANY, noop, init_D, teardown_D},
    };
    sluice_config_t *cfg = config();
    sluice_err_t err;

    (void)state;
    calls[0] = '\0';
    fail_transient = 0;
    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, table, sizeof(table) / sizeof(table[0]), &err));
    assert_string_equal(calls, "i:A i:B i:C t:B t:A ");
    assert_int_equal(err.cls, SLUICE_ERR_FATAL); /* a bad init stops the worker */
    assert_non_null(strstr(err.msg, "handler C"));
    assert_non_null(strstr(err.msg, "cannot reach the pricing service"));

    /* a transient init failure stays transient (the caller may retry) */
    calls[0] = '\0';
    fail_transient = 1;
    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, table, sizeof(table) / sizeof(table[0]), &err));
    assert_string_equal(calls, "i:A i:B i:C t:B t:A ");
    assert_int_equal(err.cls, SLUICE_ERR_TRANSIENT);

    /* the first init failing tears nothing down */
    calls[0] = '\0';
    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, table + 2, 2, &err));
    assert_string_equal(calls, "i:C ");
    sluice_config_destroy(cfg);
}

static void test_route_duplicate_names_rejected(void **state)
{
    static const sluice_handler_t table[] = {
        {"A", "*", SLUICE_OPS_ANY, noop, init_A, teardown_A},
        {"totals", "inventory.orders", SLUICE_OPS_C, noop, NULL, NULL},
        {"totals", "inventory.customers", SLUICE_OPS_C, noop, NULL, NULL},
    };
    static const sluice_handler_t two_mirrors[] = {SLUICE_HANDLER_MIRROR, SLUICE_HANDLER_MIRROR};
    static const sluice_handler_t unnamed[] = {
        {"A", "*", SLUICE_OPS_ANY, noop, init_A, teardown_A},
        {NULL, "*", SLUICE_OPS_ANY, noop, NULL, NULL},
    };
    static const sluice_handler_t nomatch[] = {{"x", NULL, SLUICE_OPS_ANY, noop, NULL, NULL}};
    sluice_config_t *cfg = config();
    sluice_err_t err;

    (void)state;
    calls[0] = '\0';
    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, table, 3, &err));
    assert_int_equal(err.cls, SLUICE_ERR_FATAL);
    assert_non_null(strstr(err.msg, "\"totals\""));
    assert_string_equal(calls, "i:A t:A "); /* unwound */

    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, two_mirrors, 2, &err));
    assert_non_null(strstr(err.msg, "\"mirror\""));

    calls[0] = '\0';
    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, unnamed, 2, &err));
    assert_int_equal(err.cls, SLUICE_ERR_FATAL);
    assert_string_equal(calls, "i:A t:A ");

    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, nomatch, 1, &err));
    assert_int_equal(err.cls, SLUICE_ERR_FATAL);
    sluice_config_destroy(cfg);
}

/* ---- sluice_route_target --------------------------------------------------- */

static void expect_target(const sluice_config_t *cfg, const char *topic, const char *schema,
                          const char *table)
{
    sluice_target_t t;
    sluice_err_t err;

    sluice_err_clear(&err);
    if (sluice_route_target(cfg, topic, &t, &err) < 0)
        fail_msg("%s: %s", topic, err.msg);
    assert_string_equal(t.schema, schema);
    assert_string_equal(t.table, table);
    sluice_target_cleanup(&t);
    assert_null(t.schema);
    assert_null(t.table);
}

static void expect_no_target(const sluice_config_t *cfg, const char *topic)
{
    sluice_target_t t;
    sluice_err_t err;

    sluice_err_clear(&err);
    assert_int_equal(sluice_route_target(cfg, topic, &t, &err), -1);
    assert_int_equal(err.cls, SLUICE_ERR_PERMANENT);
    assert_non_null(strstr(err.msg, topic));
    assert_non_null(strstr(err.msg, "mirror.tables"));
    assert_null(t.schema);
    assert_null(t.table);
}

static void test_route_target_naming(void **state)
{
    sluice_config_t *cfg = config();
    sluice_config_t *plain;
    sluice_err_t err;

    (void)state;
    /* <prefix>.<schema>.<table> -> <mirror.schema>.<table> */
    expect_target(cfg, "srv.public.accounts", "replica", "accounts");
    /* MySQL: <prefix>.<db>.<table>, same rule */
    expect_target(cfg, "srv.inventory.customers", "replica", "customers");
    /* the last dot separates the table; a prefix may hold dots */
    expect_target(cfg, "dc1.srv.public.accounts", "replica", "accounts");
    expect_target(cfg, "srv.accounts", "replica", "accounts");
    /* names are kept as they are (quoted later, never folded) */
    expect_target(cfg, "srv.public.Mixed Case", "replica", "Mixed Case");
    expect_target(cfg, "srv.public.we\"ird", "replica", "we\"ird");
    /* mirror.tables wins for the topic it names, exactly */
    expect_target(cfg, "srv.inventory.orders", "sales", "order_copy");
    expect_target(cfg, "srv.inventory.orders_archive", "replica", "orders_archive");
    /* no table part */
    expect_no_target(cfg, "accounts");
    expect_no_target(cfg, "srv.public.");

    /* mirror.schema defaults to public */
    sluice_err_clear(&err);
    plain = sluice_config_load_string(
        "{\"kafka\": {\"bootstrap.servers\": \"b:9092\", \"group.id\": \"g\"},"
        " \"postgres\": {\"conninfo\": \"host=db\"}, \"topics\": [\"t\"]}",
        "plain.json", &err);
    assert_non_null(plain);
    expect_target(plain, "srv.inventory.orders", "public", "orders");
    sluice_config_destroy(plain);
    sluice_config_destroy(cfg);
}

/* The config's handlers.<name> replaces a compiled match; [] turns a handler
 * off; a name the worker does not have is refused, naming the ones it has. */
static void test_route_config_overrides_matches(void **state)
{
    static const sluice_handler_t table[] = {
        {"audit", "nothing.matches", SLUICE_OPS_ANY, noop, NULL, NULL},
        {"totals", "inventory.orders", SLUICE_OPS_ANY, noop, NULL, NULL},
        SLUICE_HANDLER_MIRROR,
    };
    sluice_err_t err;
    sluice_config_t *cfg;
    sluice_router_t *r;
    sluice_event_t ev;

    (void)state;
    sluice_err_clear(&err);
    cfg = sluice_config_load_string(
        "{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"},"
        " \"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"],"
        " \"handlers\": {\"audit\": [\"inventory.*\", \"srv.public.items\"], \"totals\": []}}",
        "test.json", &err);
    if (!cfg)
        fail_msg("config: %s", err.msg);
    r = sluice_router_new(cfg, table, 3, &err);
    assert_non_null(r);
    sluice_event_init(&ev);
    event(&ev, "srv.inventory.orders", "inventory", NULL, "orders", SLUICE_OP_CREATE);
    assert_string_equal(matched(r, &ev), "audit,mirror");
    event(&ev, "srv.public.items", "public", NULL, "items", SLUICE_OP_UPDATE);
    assert_string_equal(matched(r, &ev), "audit,mirror");
    event(&ev, "srv.public.other", "public", NULL, "other", SLUICE_OP_DELETE);
    assert_string_equal(matched(r, &ev), "mirror");
    sluice_event_cleanup(&ev);
    sluice_router_destroy(r);
    sluice_config_destroy(cfg);

    cfg = sluice_config_load_string(
        "{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"},"
        " \"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"],"
        " \"handlers\": {\"audti\": [\"*\"]}}",
        "test.json", &err);
    assert_non_null(cfg);
    sluice_err_clear(&err);
    assert_null(sluice_router_new(cfg, table, 3, &err));
    assert_int_equal(err.cls, SLUICE_ERR_FATAL);
    if (!strstr(err.msg, "handlers.audti names no handler compiled into this worker (it has: audit, "
                         "totals, mirror)"))
        fail_msg("error: %s", err.msg);
    sluice_config_destroy(cfg);
}

/* topic.delimiter: the table is what follows the last delimiter. */
static void test_route_topic_delimiter(void **state)
{
    sluice_err_t err;
    sluice_config_t *cfg;

    (void)state;
    sluice_err_clear(&err);
    cfg = sluice_config_load_string(
        "{\"kafka\": {\"bootstrap.servers\": \"b\", \"group.id\": \"g\"},"
        " \"postgres\": {\"conninfo\": \"x=y\"}, \"topics\": [\"a\"],"
        " \"topic\": {\"delimiter\": \"__\"}, \"mirror\": {\"schema\": \"m\"}}",
        "test.json", &err);
    if (!cfg)
        fail_msg("config: %s", err.msg);
    expect_target(cfg, "srv__inventory__orders", "m", "orders");
    expect_target(cfg, "srv__db__order_lines", "m", "order_lines");
    expect_no_target(cfg, "srv__inventory__");
    sluice_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_glob),
        cmocka_unit_test(test_route_op_mask),
        cmocka_unit_test(test_route_match_topic_and_table),
        cmocka_unit_test(test_route_op_masks_filter),
        cmocka_unit_test(test_route_table_order_and_mirror),
        cmocka_unit_test(test_route_mirror_only),
        cmocka_unit_test(test_route_init_state_and_teardown_order),
        cmocka_unit_test(test_route_init_failure_unwinds),
        cmocka_unit_test(test_route_duplicate_names_rejected),
        cmocka_unit_test(test_route_target_naming),
        cmocka_unit_test(test_route_config_overrides_matches),
        cmocka_unit_test(test_route_topic_delimiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

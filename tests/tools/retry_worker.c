/* sluice-retry-worker: a test-only worker whose handler answers RETRY for
 * ever (tests/integration/test_retry_forever.py). It retries the events
 * whose record key "id" equals $SLUICE_RETRY_ID (every event when unset) and
 * mirrors the rest, so a test can watch the worker give up on one message
 * after retry.max_elapsed_ms without committing anything past it. */
#include <inttypes.h>
#include <stdlib.h>

#include "sluice/handler.h"

typedef struct {
    int all;
    int64_t id;
} retry_state_t;

static int retry_init(const sluice_config_t *cfg, void **state, sluice_err_t *err)
{
    const char *env = getenv("SLUICE_RETRY_ID");
    retry_state_t *st = calloc(1, sizeof(*st));
    char *end;

    (void)cfg;
    if (!st)
        return sluice_err_set(err, SLUICE_ERR_FATAL, "out of memory");
    st->all = !env || !*env;
    if (!st->all) {
        st->id = strtoll(env, &end, 10);
        if (*end) {
            free(st);
            return sluice_err_set(err, SLUICE_ERR_FATAL,
                                  "SLUICE_RETRY_ID=\"%s\" is not an integer", env);
        }
    }
    *state = st;
    return 0;
}

static void retry_teardown(void *state)
{
    free(state);
}

static sluice_handler_rc_t retry_fn(const sluice_event_t *ev, sluice_ctx_t *ctx, void *state)
{
    const retry_state_t *st = state;
    const sluice_value_t *id = ev->key.present ? sluice_row_get(&ev->key, "id") : NULL;

    if (st->all || (id && id->kind == SLUICE_VAL_INT && id->u.i == st->id))
        return sluice_ctx_retry(ctx, "retry_worker: not ready yet (a test handler that never is)");
    return SLUICE_HANDLER_OK;
}

static const sluice_handler_t handlers[] = {
    {"always_retry", "*", SLUICE_OPS_ANY, retry_fn, retry_init, retry_teardown},
    SLUICE_HANDLER_MIRROR,
};

int main(int argc, char **argv)
{
    return sluice_main(argc, argv, handlers, sizeof(handlers) / sizeof(handlers[0]));
}

/* Routing: which mirrored table a topic's events go to, and which compiled
 * handlers run for an event. Debezium names topics <prefix>.<schema>.<table>
 * (PostgreSQL) or <prefix>.<db>.<table> (MySQL); the mirror writes to
 * <mirror.schema>.<table> unless mirror.tables names the target. */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stddef.h>

#include "sluice/config.h"
#include "sluice/error.h"
#include "sluice/event.h"
#include "sluice/handler.h"

typedef struct {
    char *schema; /* unquoted */
    char *table;  /* unquoted */
} sluice_target_t;

/* Fills target (caller calls sluice_target_cleanup). A topic without a table
 * part (no '.') is a permanent error for its messages. */
int sluice_route_target(const sluice_config_t *cfg, const char *topic, sluice_target_t *target,
                        sluice_err_t *err);
void sluice_target_cleanup(sluice_target_t *target);

/* One handler bound to its state. */
typedef struct {
    const sluice_handler_t *h;
    void *state;
    int is_mirror;
} sluice_route_entry_t;

typedef struct sluice_router sluice_router_t;

/* Binds a handler table (NULL/0: the mirror alone), running each handler's
 * init. handlers is borrowed for the router's lifetime. Caller destroys. */
sluice_router_t *sluice_router_new(const sluice_config_t *cfg, const sluice_handler_t *handlers,
                                   size_t n, sluice_err_t *err);
/* Runs teardowns. */
void sluice_router_destroy(sluice_router_t *r);

/* The entries that run for an event, in table order: sets *out (borrowed
 * until the next call) and *n. -1 only when out of memory. */
int sluice_router_match(sluice_router_t *r, const sluice_event_t *ev,
                        const sluice_route_entry_t **out, size_t *n);

/* Whether any handler other than the mirror could run for this topic
 * (so batches of it must be applied event by event, in order). */
int sluice_router_has_custom(sluice_router_t *r);

/* Op mask bit of an op (0 for tombstones and control records). */
unsigned sluice_op_mask(sluice_op_t op);

/* Glob match with '*' (any run of characters), as handler matches use it. */
int sluice_route_glob(const char *pattern, const char *text);

#endif

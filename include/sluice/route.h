/* Routing: which topics are consumed, and which mirrored table a topic's
 * events go to. Debezium names topics <prefix>.<schema>.<table> (PostgreSQL)
 * or <prefix>.<db>.<table> (MySQL); the mirror writes to
 * <mirror.schema>.<table> unless mirror.tables names the target. */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include "sluice/config.h"
#include "sluice/error.h"

typedef struct {
    char *schema; /* unquoted */
    char *table;  /* unquoted */
} sluice_target_t;

/* Fills target (caller calls sluice_target_cleanup). A topic without a table
 * part (no '.') is a permanent error for its messages. */
int sluice_route_target(const sluice_config_t *cfg, const char *topic, sluice_target_t *target,
                        sluice_err_t *err);
void sluice_target_cleanup(sluice_target_t *target);

#endif

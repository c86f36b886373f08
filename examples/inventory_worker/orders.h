/* The inventory example's handlers for the orders table (see orders.c and
 * schema.sql): the pieces main.c lists in its handler table. */
#ifndef INVENTORY_ORDERS_H
#define INVENTORY_ORDERS_H

#include "sluice/handler.h"

/* c/u/d on orders -> customer_totals, by increments (not idempotent). */
sluice_handler_rc_t orders_totals(const sluice_event_t *ev, sluice_ctx_t *ctx, void *state);
int orders_totals_init(const sluice_config_t *cfg, void **state, sluice_err_t *err);

/* c/u/d on orders -> one order_audit row with the Kafka coordinates. */
sluice_handler_rc_t orders_audit(const sluice_event_t *ev, sluice_ctx_t *ctx, void *state);
int orders_audit_init(const sluice_config_t *cfg, void **state, sluice_err_t *err);

/* Teardown of either handler's state. */
void orders_teardown(void *state);

#endif

/* inventory_worker: a Sluice worker with business logic compiled in. It is
 * the stock `sluice` command line (run, check, decode, ...) with this
 * handler table instead of the mirror alone. */
#include "orders.h"

/* Every matching entry runs for an event, in this order, inside the batch's
 * PostgreSQL transaction. The totals come first: when they reject an event,
 * nothing of it is audited or mirrored. */
static const sluice_handler_t handlers[] = {
    {"order_totals", "inventory.orders", SLUICE_OPS_C | SLUICE_OPS_U | SLUICE_OPS_D, orders_totals,
     orders_totals_init, orders_teardown},
    {"order_audit", "inventory.orders", SLUICE_OPS_C | SLUICE_OPS_U | SLUICE_OPS_D, orders_audit,
     orders_audit_init, orders_teardown},
    SLUICE_HANDLER_MIRROR, /* and mirror every captured table, orders too */
};

int main(int argc, char **argv)
{
    return sluice_main(argc, argv, handlers, sizeof(handlers) / sizeof(handlers[0]));
}

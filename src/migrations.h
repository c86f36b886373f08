/* Sluice's own schema (ledger and bookkeeping), as versioned migrations
 * embedded from sql/ at build time. */
#ifndef SLUICE_MIGRATIONS_H
#define SLUICE_MIGRATIONS_H

#include <stddef.h>

typedef struct {
    int version;
    const char *name;
    const char *sql;
} sluice_migration_t;

extern const sluice_migration_t sluice_migrations[];
extern const size_t sluice_migrations_count;

#endif
